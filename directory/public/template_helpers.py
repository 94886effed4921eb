"""Jinja filters and globals the public templates use.

The app factory calls `register(app)`. Everything here is pure formatting: no
database access, no request state.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date, datetime

from flask import Flask
from markupsafe import Markup, escape

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


def facet_options(
    name: str,
    options: Mapping[str, str],
    chosen: Collection[str],
    counts: Mapping[str, int] | None,
    form: str | None = None,
) -> Markup:
    """A filter's checkboxes with their counts, as the `facet_list` macro lists them.

    Built here rather than in a Jinja loop: a results page lists four filters of up
    to forty options on every search, and the loop's escaping and attribute lookups
    were the largest part of rendering it (docs/performance.md, "Issue 14").
    """
    field = escape(name)
    owner = f' form="{escape(form)}"' if form else ""
    items = []
    for code, label in options.items():
        count = counts.get(code, 0) if counts is not None else None
        ticked = code in chosen
        key = escape(code)
        empty = ' class="facet-empty"' if count == 0 and not ticked else ""
        checked = " checked" if ticked else ""
        shown = f' <span class="count">({int(count)})</span>' if count is not None else ""
        items.append(
            f'<li{empty}>\n        <input type="checkbox" name="{field}" value="{key}" '
            f'id="f-{field}-{key}"{owner}{checked}>\n        '
            f'<label for="f-{field}-{key}">{escape(label)}{shown}</label>\n      </li>'
        )
    return Markup("\n      ".join(items))  # every value above is escaped


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
    app.add_template_global(facet_options, "facet_options")
