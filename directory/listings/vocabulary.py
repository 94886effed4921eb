"""Load the vocabularies from `seed_data/` and read them back for forms and filters."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from ..config import PROJECT_ROOT
from ..extensions import db
from ..models import VOCABULARIES

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
    db.session.commit()
    return added


def vocabulary_names() -> dict[str, dict[str, str]]:
    """{filter name: {code: display name}} in display order, for forms and facets."""
    result: dict[str, dict[str, str]] = {}
    for name, model in VOCABULARIES.items():
        rows = db.session.execute(
            select(model.code, model.name).order_by(model.sort_order, model.name)
        )
        result[name] = {code: label for code, label in rows}
    return result
