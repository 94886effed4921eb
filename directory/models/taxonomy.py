"""Controlled vocabularies: modalities, conditions, insurers and payment options.

Codes are stable slugs used in URLs, the search index and the JSON API; names are
what patients read and editors may reword without breaking links.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class _Vocabulary:
    """Columns every vocabulary shares."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.code}>"


class Modality(_Vocabulary, db.Model):
    """How ketamine is given: IV infusion, IM injection, Spravato, sublingual."""

    __tablename__ = "modality"
    short_name: Mapped[str] = mapped_column(String(40), default="")
    description: Mapped[str] = mapped_column(Text, default="")


class Condition(_Vocabulary, db.Model):
    """A condition a clinic treats; synonyms feed the search engine."""

    __tablename__ = "condition"
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)


class Insurer(_Vocabulary, db.Model):
    """A health plan a clinic bills."""

    __tablename__ = "insurer"


class PaymentOption(_Vocabulary, db.Model):
    """A way to pay: self-pay, financing, HSA/FSA, superbill, sliding scale."""

    __tablename__ = "payment_option"


class VocabularyStamp(db.Model):
    """One row that every change to any vocabulary moves on, in its own transaction:
    processes keep the names they read until it moves (`vocabulary.vocabulary_names`),
    so a search reads one number instead of four tables, and a rename shows at once
    on every server (migration 0014)."""

    __tablename__ = "vocabulary_stamp"

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=True)
    stamp: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


VOCABULARIES: dict[str, type[_Vocabulary]] = {
    "modality": Modality,
    "condition": Condition,
    "insurer": Insurer,
    "payment": PaymentOption,
}
