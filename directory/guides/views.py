"""Guide pages: look up the text, add live figures, render. No wording lives here."""

from __future__ import annotations

from flask import abort, render_template

from ..listings.vocabulary import vocabulary_names
from . import bp
from .content import (
    CONDITION_GUIDES,
    LAST_REVIEWED,
    MODALITY_GUIDES,
    NOT_ADVICE,
    NOT_ADVICE_MORE,
    PAYING_GUIDE,
    condition_guide,
    modality_guide,
)
from .counts import condition_listings, payment_option_counts
from .prices import modality_price_ranges


def _common(vocabularies: dict[str, dict[str, str]]) -> dict:
    """What every guide template uses: vocabulary names, review date, advice note."""
    return {
        "vocabularies": vocabularies,
        "last_reviewed": LAST_REVIEWED,
        "not_advice": NOT_ADVICE,
        "not_advice_more": NOT_ADVICE_MORE,
        # Codes that have a guide, so cross-links never point at a 404.
        "guide_codes": {"modality": set(MODALITY_GUIDES), "condition": set(CONDITION_GUIDES)},
    }


@bp.get("/")
def index():
    """All guides: treatments and conditions still in the vocabularies, then paying."""
    vocabularies = vocabulary_names()
    modalities = vocabularies.get("modality", {})
    conditions = vocabularies.get("condition", {})
    return render_template(
        "guides/index.html",
        modality_guides=[
            (modalities[code], guide)
            for code, guide in MODALITY_GUIDES.items()
            if code in modalities
        ],
        condition_guides=[
            (conditions[code], guide)
            for code, guide in CONDITION_GUIDES.items()
            if code in conditions
        ],
        paying=PAYING_GUIDE,
        **_common(vocabularies),
    )


@bp.get("/treatments/<slug:code>")
def modality(code: str):
    """One treatment: how it is given, a course, live prices, insurance, safety."""
    vocabularies = vocabulary_names()
    guide = modality_guide(code)
    if guide is None or code not in vocabularies.get("modality", {}):
        abort(404)
    return render_template(
        "guides/modality.html",
        guide=guide,
        name=vocabularies["modality"][code],
        price=modality_price_ranges().get(code),
        **_common(vocabularies),
    )


@bp.get("/conditions/<slug:code>")
def condition(code: str):
    """One condition: evidence with named sources, and live counts of clinics listing it."""
    vocabularies = vocabulary_names()
    guide = condition_guide(code)
    if guide is None or code not in vocabularies.get("condition", {}):
        abort(404)
    return render_template(
        "guides/condition.html",
        guide=guide,
        name=vocabularies["condition"][code],
        listings=condition_listings(code),
        **_common(vocabularies),
    )


@bp.get("/paying-for-treatment")
def paying():
    """Paying for treatment, with live insurance shares and payment-option counts."""
    vocabularies = vocabulary_names()
    return render_template(
        "guides/paying.html",
        guide=PAYING_GUIDE,
        prices=modality_price_ranges(),
        payment_counts=payment_option_counts(),
        **_common(vocabularies),
    )
