"""Write audit events. Callers add them to the session of the change they record,
so the event and the change commit (or roll back) together."""

from __future__ import annotations

from typing import Any

from ..extensions import db
from ..models import AuditEvent, Clinic, Revision, User


def changed_values(row: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{name: (before, after)} for each value that differs from the row's own: what an
    audited write changes, and all it needs to write."""
    return {
        name: (getattr(row, name), value)
        for name, value in values.items()
        if getattr(row, name) != value
    }


def record_event(
    actor: User | None,
    action: str,
    *,
    clinic: Clinic | None = None,
    revision: Revision | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    target: str = "",
) -> AuditEvent:
    """Add an audit event to the current transaction (not committed here)."""
    event = AuditEvent(
        actor=actor,
        actor_label=actor.email if actor else "anonymous",
        action=action,
        clinic=clinic,
        revision=revision,
        before=before,
        after=after,
        target=target or (clinic.name if clinic else ""),
    )
    db.session.add(event)
    return event
