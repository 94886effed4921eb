"""Ownership checks in one place: every clinic-owned object is fetched through here.

A clinic user asking for a listing or revision it does not own gets a 404, the
same answer as for one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.exceptions import NotFound

from ..extensions import db
from ..models import Clinic, Ownership, Revision, User


def owned_clinic_ids(user: User) -> set[int]:
    return set(db.session.scalars(select(Ownership.clinic_id).where(Ownership.user_id == user.id)))


def owns(user: User, clinic_id: int | None) -> bool:
    if clinic_id is None:
        return False
    return (
        db.session.scalar(
            select(Ownership.id).where(
                Ownership.user_id == user.id, Ownership.clinic_id == clinic_id
            )
        )
        is not None
    )


def get_owned_clinic(user: User, clinic_id: int) -> Clinic:
    """The clinic, if `user` owns it (staff may see any); otherwise 404."""
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None or not (user.is_staff or owns(user, clinic_id)):
        raise NotFound()
    return clinic


def get_own_revision(user: User, revision_id: int) -> Revision:
    """A revision the user wrote (staff may see any); otherwise 404."""
    revision = db.session.get(Revision, revision_id)
    if revision is None or not (user.is_staff or revision.author_id == user.id):
        raise NotFound()
    return revision
