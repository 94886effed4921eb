"""Guide pages: look up the text, add live figures, render. No wording lives here."""

from __future__ import annotations

from flask import abort, render_template

from ..listings.vocabulary import vocabulary_names
from . import bp
from .counts import condition_listings, payment_option_counts
from .loader import guides
from .prices import modality_price_ranges


def _common(vocabularies: dict[str, dict[str, str]]) -> dict:
    """What every guide template uses: vocabulary names, review date, advice note."""
    content = guides()
    return {
        "vocabularies": vocabularies,
        "last_reviewed": content.last_reviewed,
        "not_advice": content.not_advice,
        "not_advice_more": content.not_advice_more,
        # Codes that have a guide, so cross-links never point at a 404.
        "guide_codes": {"modality": set(content.modality), "condition": set(content.condition)},
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
            for code, guide in guides().modality.items()
            if code in modalities
        ],
        condition_guides=[
            (conditions[code], guide)
            for code, guide in guides().condition.items()
            if code in conditions
        ],
        paying=guides().paying,
        **_common(vocabularies),
    )


@bp.get("/treatments/<slug:code>")
def modality(code: str):
    """One treatment: how it is given, a course, live prices, insurance, safety."""
    vocabularies = vocabulary_names()
    guide = guides().modality.get(code)
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
    guide = guides().condition.get(code)
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
        guide=guides().paying,
        prices=modality_price_ranges(),
        payment_counts=payment_option_counts(),
        **_common(vocabularies),
    )
