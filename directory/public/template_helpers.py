"""Jinja filters and globals the public templates use.

The app factory calls `register(app)`. Everything here is pure formatting: no
database access, no request state.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from flask import Flask

from ..geo import US_STATES
from ..models.languages import LANGUAGE_NAMES
from ..models.listing_fields import PRICE_INCLUDES
from ..slugs import slugify


def state_name(code: str | None) -> str:
    """State code to name ("TX" -> "Texas"); unknown codes are shown as given."""
    if not code:
        return ""
    return US_STATES.get(str(code).upper(), str(code))


def miles(value: float | int | None) -> str:
    """4.237 -> "4.2 mi", 0.04 -> "under 0.1 mi", 123.4 -> "123 mi"."""
    if value is None:
        return ""
    value = float(value)
    if value < 0.1:
        return "under 0.1 mi"
    if value < 10:
        return f"{value:.1f} mi"
    return f"{round(value):,} mi"


def long_date(value: date | datetime | None) -> str:
    """date(2025, 3, 4) -> "March 4, 2025"."""
    if value is None:
        return ""
    return f"{value:%B} {value.day}, {value.year}"


def month_year(value: date | datetime | None) -> str:
    """date(2025, 3, 4) -> "Mar 2025": a card's short date."""
    if value is None:
        return ""
    return f"{value:%b} {value.year}"


def iso_date(value: date | datetime | None) -> str:
    """For `<time datetime="…">`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


def money(value: int | float | None) -> str:
    """1200 -> "$1,200"."""
    if value is None:
        return ""
    return f"${value:,.0f}"


def language_name(code: str | None) -> str:
    """Language code to name ("es" -> "Spanish"); anything unknown is shown as given."""
    if not code:
        return ""
    return LANGUAGE_NAMES.get(str(code).strip().lower(), str(code))


def tel_href(phone: str | None) -> str:
    """A tel: URL: "(512) 555-0142" -> "tel:+15125550142" (US numbers get +1)."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 10:
        digits = "1" + digits
    return f"tel:+{digits}" if digits else ""


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """plural(1, "clinic") -> "1 clinic"; plural(3, "clinic") -> "3 clinics"."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def price_include(code: str) -> str:
    """What a price covers, by name: "monitoring" -> "Medical monitoring"."""
    return PRICE_INCLUDES.get(code, code)


def register(app: Flask) -> None:
    """Make the helpers available to every template."""
    app.add_template_filter(state_name, "state_name")
    app.add_template_filter(miles, "miles")
    app.add_template_filter(long_date, "long_date")
    app.add_template_filter(month_year, "month_year")
    app.add_template_filter(iso_date, "iso_date")
    app.add_template_filter(money, "money")
    app.add_template_filter(tel_href, "tel_href")
    app.add_template_filter(language_name, "language_name")
    app.add_template_filter(price_include, "price_include")
    app.add_template_filter(slugify, "city_slug")
    app.add_template_global(plural, "plural")
