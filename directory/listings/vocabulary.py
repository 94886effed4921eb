"""The vocabularies: loaded from `seed_data/`, read back for forms and filters, and
changed by editors (`add_entry`, `change_entry`).

Codes are permanent: they are in links, the search index and the API, so an entry
is reworded, never recoded (nor deleted). Every editor's change is audited with
before and after in its own transaction; a change to what search documents hold
(a modality's or a condition's wording) queues every clinic using the entry in
that transaction too, and the index queue is drained after the commit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError

from ..config import PROJECT_ROOT
from ..extensions import db
from ..models import VOCABULARIES, Offering, User, VocabularyStamp
from ..models.clinic import clinic_condition
from ..models.taxonomy import Condition, Insurer, Modality, PaymentOption
from ..search import sync
from ..slugs import SLUG_PATTERN
from .audit import changed_values, record_event

SEED_DIR = PROJECT_ROOT / "seed_data"
SEED_FILES = {
    "modality": "modalities.json",
    "condition": "conditions.json",
    "insurer": "insurers.json",
    "payment": "payment_options.json",
}
FIELDS = ("name", "short_name", "description", "synonyms")


def load_vocabularies(seed_dir: Path = SEED_DIR) -> dict[str, int]:
    """Insert missing vocabulary entries; existing ones keep the editors' wording.

    Idempotent: running it twice adds nothing the second time. Returns how many
    rows were added per vocabulary.
    """
    added: dict[str, int] = {}
    for name, filename in SEED_FILES.items():
        model = VOCABULARIES[name]
        entries = json.loads((seed_dir / filename).read_text())
        existing = set(db.session.scalars(select(model.code)))
        count = 0
        for position, entry in enumerate(entries):
            if entry["code"] in existing:
                continue
            values = {k: entry[k] for k in FIELDS if k in entry and hasattr(model, k)}
            sort_order = entry.get("sort_order", position)
            db.session.add(model(code=entry["code"], sort_order=sort_order, **values))
            count += 1
        added[name] = count
    if any(added.values()):
        moved_on()
    db.session.commit()
    return added


def vocabulary_names() -> dict[str, dict[str, str]]:
    """{filter name: {code: display name}} in display order, for forms and facets.

    Kept per app process until the stamp moves (`VocabularyStamp`): one small read per
    call instead of four tables. The dictionaries are shared: read them, never change
    them. Reading the stamp before the names means names cached under a stamp are at
    least that new, so a change is never missed; without the stamp row (a database
    set up by hand) nothing is kept.
    """
    stamp = db.session.scalar(select(VocabularyStamp.stamp))
    kept = current_app.extensions.get("vocabulary_names")
    if stamp is not None and kept is not None and kept[0] == stamp:
        return kept[1]
    names = _read_names()
    if stamp is not None:
        current_app.extensions["vocabulary_names"] = (stamp, names)
    return names


def moved_on() -> None:
    """Move the stamp on, in the caller's transaction (every change to a vocabulary)."""
    db.session.execute(update(VocabularyStamp).values(stamp=VocabularyStamp.stamp + 1))


def _read_names() -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for name, model in VOCABULARIES.items():
        rows = db.session.execute(
            select(model.code, model.name).order_by(model.sort_order, model.name)
        )
        result[name] = {code: label for code, label in rows}
    return result


# -- editors' changes ------------------------------------------------------------------
# What editors set, per vocabulary, in the order the admin's forms show it.
EDITABLE: dict[str, tuple[str, ...]] = {
    "modality": ("code", "name", "short_name", "sort_order", "description"),
    "condition": ("code", "name", "sort_order", "synonyms"),
    "insurer": ("code", "name", "sort_order"),
    "payment": ("code", "name", "sort_order"),
}
# What reaches the search documents: changing one re-indexes the clinics using the entry.
INDEXED: dict[str, tuple[str, ...]] = {
    "modality": ("name", "short_name"),
    "condition": ("name", "synonyms"),
}
VocabularyEntry = Modality | Condition | Insurer | PaymentOption
NAME_MAX = 120
_CODE = re.compile(rf"^{SLUG_PATTERN}$")  # codes are in URLs
_MARKUP = re.compile(r"[<>]|&#?\w+;")


class VocabularyError(ValueError):
    """A change the rules refuse; `message` is written for the editor."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def kind_of(model: type[VocabularyEntry]) -> str:
    """The vocabulary's name ("modality", "payment"…) for its model class."""
    for name, vocabulary in VOCABULARIES.items():
        if vocabulary is model:
            return name
    raise ValueError(f"{model!r} is not a vocabulary")


def add_entry(
    editor: User, model: type[VocabularyEntry], values: dict[str, Any]
) -> VocabularyEntry:
    """Add an entry to a vocabulary (a new insurer, say): checked, audited, committed.

    `values`: fields of EDITABLE for that vocabulary, `code` included. Raises
    `VocabularyError` with nothing written.
    """
    kind = kind_of(model)
    values = _checked(kind, values)
    code = values.get("code")
    if not isinstance(code, str) or len(code) > 64 or not _CODE.match(code):
        raise VocabularyError("Use a code of lowercase letters, digits and hyphens.")
    entry = model(**values)
    shown = {k: v for k, v in values.items() if v is not None}
    try:
        db.session.add(entry)
        db.session.flush()  # the unique code: where a save racing this one fails
        record_event(
            editor,
            "vocabulary_added",
            target=f"{kind}:{code}",
            before=dict.fromkeys(shown),
            after=shown,
        )
        moved_on()
        db.session.commit()
    except IntegrityError as exc:  # the form's uniqueness check raced another save
        db.session.rollback()
        raise VocabularyError("Another entry already uses that code.") from exc
    return entry


def change_entry(
    editor: User, entry: VocabularyEntry, values: dict[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """Reword an entry: checked, audited and committed with the clinics using it queued
    for the index when search shows what changed; then the queue is drained.

    Returns what changed, {name: (before, after)}; nothing is written when nothing
    did. Raises `VocabularyError` with nothing written (a new code, for one).
    """
    kind = kind_of(type(entry))
    values = _checked(kind, values)
    if "code" in values and values["code"] != entry.code:
        raise VocabularyError(
            "A code cannot change: it is used in links and the search index. "
            "Change the name instead."
        )
    changes = changed_values(entry, values)
    if not changes:
        return {}
    for name, (_, after) in changes.items():
        setattr(entry, name, after)
    record_event(
        editor,
        "vocabulary_changed",
        target=f"{kind}:{entry.code}",
        before={name: before for name, (before, _) in changes.items()},
        after={name: after for name, (_, after) in changes.items()},
    )
    reindex = bool(set(changes) & set(INDEXED.get(kind, ())))
    if reindex:
        sync.enqueue_selected(_clinics_using(kind, entry))
    moved_on()
    db.session.commit()
    if reindex:
        sync.drain()
    return changes


def _checked(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` made canonical (names trimmed, blank synonyms dropped), or a refusal."""
    unknown = set(values) - set(EDITABLE[kind])
    if unknown:
        raise ValueError(f"Not editable in {kind}: {', '.join(sorted(unknown))}")
    values = dict(values)
    if "name" in values:
        name = values["name"].strip() if isinstance(values["name"], str) else ""
        if not name or _MARKUP.search(name):
            raise VocabularyError("Enter a plain-text name.")
        if len(name) > NAME_MAX:
            raise VocabularyError(f"Use a name of at most {NAME_MAX} characters.")
        values["name"] = name
    if "sort_order" in values:
        order = values["sort_order"]
        if isinstance(order, bool) or not isinstance(order, int):
            raise VocabularyError("Give the position as a whole number.")
    if "synonyms" in values:
        synonyms = values["synonyms"] if values["synonyms"] is not None else []
        if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
            raise VocabularyError('Synonyms must be a JSON list of words, like ["MDD"].')
        values["synonyms"] = [s.strip() for s in synonyms if s.strip()]
    return values


def _clinics_using(kind: str, entry: VocabularyEntry) -> Select:
    """A select of the clinics whose search documents include this entry."""
    if kind == "modality":
        return select(Offering.clinic_id).where(Offering.modality_id == entry.id).distinct()
    return select(clinic_condition.c.clinic_id).where(clinic_condition.c.condition_id == entry.id)
