"""The OpenAPI 3.1 document of `/api/v1`, built in code from the contract's own tables.

Query limits come from `search.query` and record fields from the field table
(`models.listing_fields`), so a new field or a changed limit is described the day
it ships. Every fixed shape says `additionalProperties: false`: the test suite
validates each API answer against this document (tests/openapi_check.py), so an
answer that drifts from it fails a test instead of surprising a client.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache
from typing import Any

from ..listings.credentials import STATUS_LABELS
from ..models.clinic import PRICE_CONFIRMATIONS, STALE_AFTER_DAYS
from ..models.credentials import CREDENTIAL_KINDS, SOURCES
from ..models.listing_fields import LISTING_FIELDS, OFFERING_FIELDS, ApiShape, ListingField
from ..search import query as contract
from ..slugs import MAX_LENGTH, SLUG_PATTERN

Schema = dict[str, Any]
VERSION = "1.0.0"
SERVER = "/api/v1"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    """`schema`, or null (JSON Schema 2020-12 writes it as a type list)."""
    kind = schema["type"]
    return {**schema, "type": [*(kind if isinstance(kind, list) else [kind]), "null"]}


def _object(properties: dict[str, Schema], description: str = "") -> Schema:
    """A fixed shape: every key always present, no other key allowed."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return {"description": description, **schema} if description else schema


DATE = {"type": "string", "format": "date"}
CODES = {"type": "array", "items": {"type": "string"}}


# -- listing fields, from the field table ------------------------------------------------------
def field_schema(spec: ListingField) -> Schema:
    """A listing field's JSON Schema, from its kind and limits in the field table."""
    schema: Schema
    if spec.kind in ("text", "long_text"):
        schema = {"type": "string"}
        if spec.limit:
            schema["maxLength"] = spec.limit
    elif spec.kind == "choice":
        # A choice without a default may be left blank (a telehealth program's state).
        blank = [""] if spec.default is None else []
        schema = {"type": "string", "enum": [*spec.choices, *blank]}
    elif spec.kind == "number":
        schema = {"type": ["integer", "null"], "minimum": spec.minimum}
        if spec.limit is not None:
            schema["maximum"] = spec.limit
    elif spec.kind == "yes_no":
        schema = {"type": "boolean"}
    elif spec.kind == "date":
        schema = _nullable(DATE)
    else:  # codes of a fixed list, free codes, or an editor-managed vocabulary's codes
        items: Schema = {"type": "string"}
        if spec.choices:
            items["enum"] = list(spec.choices)
        schema = {"type": "array", "items": items}
        if spec.kind == "codes" and spec.limit:
            schema["maxItems"] = spec.limit
    words = spec.form_label + (f". {spec.help}" if spec.help else "")
    if spec.unit == "USD":
        words += " Whole US dollars; null when not published."
    if spec.kind == "vocabulary":
        words += " Codes of the directory's vocabulary (see `facets` for the codes in use)."
    return {"description": words, **schema}


def _fields(specs: tuple[ListingField, ...], shape: ApiShape) -> dict[str, Schema]:
    return {spec.name: field_schema(spec) for spec in specs if spec.api == shape}


def _modality_summary() -> Schema:
    return _object(
        {
            "code": {"type": "string", "description": "The treatment's code, e.g. iv."},
            **_fields(OFFERING_FIELDS, "summary"),
            **_price_date(),
        },
        "One treatment the clinic offers, with its price per session.",
    )


def _price_date() -> dict[str, Schema]:
    return {
        "price_confirmed_on": {
            **_nullable(DATE),
            "description": "When the price was last confirmed (null: never recorded).",
        },
        "price_stale": {
            "type": "boolean",
            "description": "True when the price was not confirmed within "
            f"{STALE_AFTER_DAYS} days (or never): ask the clinic before relying on it.",
        },
    }


def _summary_properties() -> dict[str, Schema]:
    return {
        "id": {"type": "integer", "description": "The listing's number; stable."},
        "slug": {
            "type": "string",
            "pattern": f"^{SLUG_PATTERN}$",
            "description": "The listing's name in URLs: GET /clinics/{slug} gives its record.",
        },
        **_fields(LISTING_FIELDS, "summary"),
        "lat": {
            "type": ["number", "null"],
            "description": "Latitude (null for a telehealth program without a place).",
        },
        "lng": {"type": ["number", "null"], "description": "Longitude (null with lat)."},
        "distance_miles": {
            "type": ["number", "null"],
            "minimum": 0,
            "description": "Miles from the searched place, rounded to 0.01 (null without one).",
        },
        "modalities": {"type": "array", "items": _ref("ModalitySummary")},
        "verified": {
            "type": "boolean",
            "description": "Every section of the listing was confirmed within "
            f"{STALE_AFTER_DAYS} days.",
        },
        "credentials_checked": {
            "type": "boolean",
            "description": "At least one credential has a current check by the directory, and "
            "none could not be confirmed.",
        },
        "checks_expired": {
            "type": "boolean",
            "description": "The listing was checked, but every check is out of date.",
        },
        "demo": {"type": "boolean", "description": "A fictional demo listing."},
        "url": {
            "type": "string",
            "format": "uri",
            "description": "The listing's page for people.",
        },
    }


def _offering() -> Schema:
    return _object(
        {
            "modality": {"type": "string", "description": "The treatment's code, e.g. iv."},
            "modality_name": {"type": "string", "description": "The treatment's name."},
            **_fields(OFFERING_FIELDS, "summary"),
            **_fields(OFFERING_FIELDS, "detail"),
            **_price_date(),
            "price_confirmed_how": {
                "type": ["string", "null"],
                "enum": [*PRICE_CONFIRMATIONS, None],
                "description": "Who confirmed the price: "
                + "; ".join(f"{code}: {words}" for code, words in PRICE_CONFIRMATIONS.items())
                + " (null: not recorded).",
            },
        },
        "One treatment with everything the listing says about its price.",
    )


def _credential() -> Schema:
    nullable_text = {"type": ["string", "null"]}
    return _object(
        {
            "kind": {"type": "string", "enum": list(CREDENTIAL_KINDS)},
            "value": {"type": "string", "description": "What the listing states (the number)."},
            "label": {"type": "string", "description": "The credential in words."},
            "status": {
                "type": "string",
                "enum": list(STATUS_LABELS),
                "description": "; ".join(
                    f"{code}: {words}" for code, words in STATUS_LABELS.items()
                )
                + ".",
            },
            "checked_on": {**_nullable(DATE), "description": "The day an editor checked it."},
            "source": {
                "type": ["string", "null"],
                "enum": [*SOURCES, None],
                "description": "Where it was checked (null: never checked).",
            },
            "source_label": {**nullable_text, "description": "That source in words."},
            "reference": {
                **nullable_text,
                "description": "The source's address or reference, to check it yourself.",
            },
            "due_on": {**_nullable(DATE), "description": "When the check runs out."},
        },
        "A stated credential and what the directory's check of it says today.",
    )


def _record() -> Schema:
    sections = ("details", "hours", "insurance", "prices")
    return _object(
        {
            **_summary_properties(),
            **_fields(LISTING_FIELDS, "detail"),
            "geo_precision": {
                "type": "string",
                "description": "How exactly lat/lng place the clinic (zip: the ZIP code's centre).",
            },
            "offerings": {"type": "array", "items": _ref("Offering")},
            "confirmed": _object(
                {name: _nullable(DATE) for name in sections},
                "When each section was last confirmed (null: never).",
            ),
            "credentials": {"type": "array", "items": _ref("Credential")},
            "updated_at": {
                "type": ["string", "null"],
                # Not `format: date-time`: SQLite gives it without its UTC offset.
                "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$",
                "description": "When the listing last changed, ISO 8601 in UTC.",
            },
        },
        "Every public field of one listing, with who checked what and when.",
    )


# -- the search answer -----------------------------------------------------------------------
def _understood() -> Schema:
    derived = _object(
        {
            "typed": {"type": "string", "description": "The words that named the filter."},
            "filter": {"type": "string", "enum": list(contract.FILTERS)},
            "code": {"type": "string"},
        }
    )
    return _object(
        {
            "typed": {"type": "string", "description": "The words as typed."},
            "corrections": {
                "type": "array",
                "items": _object({"typed": {"type": "string"}, "searched": {"type": "string"}}),
            },
            "filters_from_text": {
                "type": "array",
                "items": derived,
                "description": "Filters read from the words and applied.",
            },
            "filters_offered": {
                "type": "array",
                "items": derived,
                "description": "Filters the words may mean, offered but not applied.",
            },
        },
        "What the directory changed before searching: spelling corrected, filters read "
        "from the words. Send exact=1 to search the words as typed.",
    )


def _echo() -> Schema:
    lists = {name: {**CODES, "description": f"{name} codes searched"} for name in contract.FILTERS}
    return _object(
        {
            "q": {"type": "string"},
            "where": {"type": "string"},
            "radius": {"type": "integer", "minimum": 1, "maximum": contract.MAX_RADIUS},
            **lists,
            "max_price": {"type": ["integer", "null"], "minimum": 0, "maximum": contract.MAX_PRICE},
            "accepting": {"type": "boolean"},
            "checked": {"type": "boolean"},
            "sort": {"type": "string", "enum": list(contract.SORTS)},
            "page": {"type": "integer", "minimum": 1, "maximum": contract.MAX_PAGE},
            "per_page": {"type": "integer", "minimum": 1, "maximum": contract.MAX_PER_PAGE},
            "exact": {"type": "boolean"},
            "understood": {"oneOf": [_ref("Understood"), {"type": "null"}]},
        },
        "What was searched, after corrections and filters read from the words: every "
        "parameter with its value or default.",
    )


def _location() -> Schema:
    return _object(
        {
            "label": {"type": "string", "description": "The place as the directory names it."},
            "lat": {"type": "number"},
            "lng": {"type": "number"},
            "state": {"type": ["string", "null"], "description": "Its state's code, when known."},
            "kind": {
                "type": "string",
                "enum": ["zip", "city", "point", "state"],
                "description": "zip, city, point (coordinates), or state: a whole state, "
                "searched without a radius or distances.",
            },
        },
        "The place searched from.",
    )


def _links() -> Schema:
    url = {"type": "string", "format": "uri"}
    maybe = {"type": ["string", "null"], "format": "uri"}
    return _object(
        {
            "self": {**url, "description": "This page."},
            "next": {**maybe, "description": "The next page (null on the last)."},
            "prev": {**maybe, "description": "The page before (null on the first)."},
            "first": {**url, "description": "The first page."},
            "last": {**url, "description": "The last page (the first when nothing matched)."},
            "telehealth": {
                **maybe,
                "description": "This page with every matching telehealth program listed "
                "(null when `telehealth` lists them all already).",
            },
        },
        "Absolute URLs of pages of the same search; only the page number differs (or, "
        "for `telehealth`, how many programs are listed).",
    )


def _search_answer() -> Schema:
    clinics = {"type": "array", "items": _ref("ClinicSummary")}
    counts = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
    return _object(
        {
            "query": _ref("SearchEcho"),
            "location": {"oneOf": [_ref("Location"), {"type": "null"}]},
            "total": {
                "type": "integer",
                "minimum": 0,
                "description": "How many results match, on every page together.",
            },
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "results": {
                **clinics,
                "maxItems": contract.MAX_PER_PAGE,
                "description": "This page of the in-person results, in the order asked for.",
            },
            "telehealth": {
                **clinics,
                "maxItems": contract.TELEHEALTH_LIMIT,
                "description": "The first telehealth programs serving the searched state, as "
                "many as the `telehealth` parameter asks (not paged).",
            },
            "telehealth_total": {
                "type": "integer",
                "minimum": 0,
                "maximum": contract.TELEHEALTH_LIMIT,
                "description": "How many telehealth programs serving the searched state match "
                f"(the best {contract.TELEHEALTH_LIMIT} at most); `links.telehealth` lists "
                "them all.",
            },
            "nearest": {
                **clinics,
                "description": "Nothing within the radius: the nearest matching clinics at any "
                "distance. Empty otherwise.",
            },
            "facets": _object(
                {
                    name: {**counts, "description": f"Results per {name} code"}
                    for name in contract.FILTERS
                },
                "For each filter code, how many results there would be with it and every "
                "other filter.",
            ),
            "demo_data": {"type": "boolean", "description": "Some answer is a demo listing."},
            "links": _ref("PageLinks"),
        },
        "One page of a search.",
    )


def _error(field: Schema, suggestions_required: bool) -> Schema:
    inner = _object(
        {
            "field": field,
            "message": {
                "type": "string",
                "minLength": 1,
                "description": "What went wrong, in words for people: show it as it is.",
            },
            "suggestions": {
                "type": "array",
                "items": {"type": "string"},
                "description": "What the field could have been instead (places, for a "
                "`where` that matched several or none).",
            },
        }
    )
    if not suggestions_required:
        inner["required"] = ["field", "message"]
    return _object({"error": inner})


# -- query parameters ------------------------------------------------------------------------
def _text(description: str) -> Schema:
    return {
        "description": description,
        "schema": {"type": "string", "maxLength": contract.MAX_TEXT},
    }


def _whole(description: str, low: int, high: int, default: int | None = None) -> Schema:
    schema: Schema = {"type": "integer", "minimum": low, "maximum": high}
    if default is not None:
        schema["default"] = default
    return {
        "description": f"{description} A whole number from {low:,} to {high:,} (written as "
        "people write one is fine too: “1,200”, “500.00”).",
        "schema": schema,
    }


def _flag(description: str) -> Schema:
    return {
        "description": f"{description} Yes: 1, true, yes or on; no: 0, false, no, off or "
        "leaving it out.",
        "schema": {"type": "boolean", "default": False},
    }


def _codes(noun: str) -> Schema:
    return {
        "description": f"Only clinics with this {noun} code. Repeat the parameter (or separate "
        f"codes with commas) for any of several. `facets.{noun}` lists the codes.",
        "schema": {"type": "array", "items": {"type": "string"}},
        "style": "form",
        "explode": True,
    }


def search_parameters() -> dict[str, Schema]:
    """Every query parameter of GET /search, by name, as the document states it."""
    sorts = "; ".join(f"{code}: {words}" for code, words in contract.SORT_NAMES.items())
    params = {
        "q": _text("Words to search for: a name, a treatment, a condition, an insurer."),
        "where": {
            **_text(
                "A place: a ZIP code, “City, ST”, a state's name, or “lat,lng”. One that "
                "matches several places or none answers 400 with suggestions."
            ),
            "example": "Anchorage, AK",
        },
        "radius": _whole(
            "Miles around `where`. Ignored for a whole state.",
            1,
            contract.MAX_RADIUS,
            contract.DEFAULT_RADIUS,
        ),
        "modality": _codes("modality"),
        "condition": _codes("condition"),
        "insurer": _codes("insurer"),
        "payment": _codes("payment"),
        "max_price": _whole(
            "Only clinics with a treatment priced at most this many US dollars per session "
            "(“$500” is fine).",
            0,
            contract.MAX_PRICE,
        ),
        "accepting": _flag("Only clinics accepting new patients."),
        "checked": _flag("Only listings whose credentials the directory checked."),
        "exact": _flag(
            "Search the words as typed: no spelling correction, no filters read from them."
        ),
        "sort": {
            "description": f"The order ({sorts}). Default: distance with a place (not a whole "
            "state), relevance with words, else recent. distance needs a city or ZIP code.",
            "schema": {"type": "string", "enum": list(contract.SORTS)},
        },
        "page": _whole("Which page of results.", 1, contract.MAX_PAGE, 1),
        "per_page": _whole(
            "Results per page.", 1, contract.MAX_PER_PAGE, contract.DEFAULT_PER_PAGE
        ),
        "telehealth": _whole(
            "How many of the telehealth programs serving the searched state to list "
            "(`telehealth_total` counts them all).",
            0,
            contract.TELEHEALTH_LIMIT,
            contract.TELEHEALTH_SHOWN,
        ),
    }
    return {name: {"name": name, "in": "query", **spec} for name, spec in params.items()}


SEARCH_PARAMETERS = tuple(search_parameters())


# -- responses -------------------------------------------------------------------------------
def _header(description: str, required: bool = True) -> Schema:
    return {"description": description, "required": required, "schema": {"type": "string"}}


VALIDATORS = {
    "ETag": _header("A strong hash of the body: send it back as If-None-Match."),
    "Last-Modified": _header(
        "The later of the listing's last change and the start of today (UTC): flags such as "
        "price_stale are worked out for today. Send it back as If-Modified-Since."
    ),
    "Cache-Control": _header("no-cache: keep it, but ask again (conditionally) each time."),
}


def _json(schema: Schema, description: str, example: Any = None, **headers: Schema) -> Schema:
    media: Schema = {"schema": schema}
    if example is not None:
        media["example"] = example
    answer: Schema = {"description": description, "content": {"application/json": media}}
    if headers:
        answer["headers"] = headers
    return answer


def _not_modified(what: str) -> Schema:
    return {
        "description": f"{what} has not changed since the copy named in If-None-Match or "
        "If-Modified-Since: no body, keep using that copy.",
        "headers": {"ETag": VALIDATORS["ETag"]},
    }


# -- examples (validated against their schemas by tests/test_openapi.py) ---------------------
_SITE = "https://directory.example"
_PRICE_DATE = {"price_confirmed_on": "2026-10-29", "price_stale": False}
SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": 1,
    "slug": "northern-lights-ketamine-institute-anchorage",
    "name": "Northern Lights Ketamine Institute",
    "kind": "in_person",
    "city": "Anchorage",
    "state": "AK",
    "postal_code": "99503",
    "states_served": [],
    "accepting_new_patients": True,
    "conditions": ["depression", "anxiety"],
    "insurers": ["aetna"],
    "payment": ["self-pay", "hsa-fsa"],
    "last_verified_at": "2026-10-29",
    "lat": 61.1891,
    "lng": -149.8862,
    "distance_miles": 0.7,
    "modalities": [
        {
            "code": "im",
            "price_min": 420,
            "price_max": 420,
            "insurance_accepted": False,
            **_PRICE_DATE,
        }
    ],
    "verified": True,
    "credentials_checked": False,
    "checks_expired": False,
    "demo": True,
    "url": f"{_SITE}/clinics/northern-lights-ketamine-institute-anchorage",
}
_SEARCH_URL = f"{_SITE}{SERVER}/search?where=Anchorage%2C+AK&page=1"
SEARCH_EXAMPLE: dict[str, Any] = {
    "query": {
        "q": "",
        "where": "Anchorage, AK",
        "radius": contract.DEFAULT_RADIUS,
        **{name: [] for name in contract.FILTERS},
        "max_price": None,
        "accepting": False,
        "checked": False,
        "sort": "distance",
        "page": 1,
        "per_page": contract.DEFAULT_PER_PAGE,
        "exact": False,
        "understood": None,
    },
    "location": {
        "label": "Anchorage, AK",
        "lat": 61.179,
        "lng": -149.887,
        "state": "AK",
        "kind": "city",
    },
    "total": 1,
    "page": 1,
    "per_page": contract.DEFAULT_PER_PAGE,
    "results": [SUMMARY_EXAMPLE],
    "telehealth": [],
    "telehealth_total": 0,
    "nearest": [],
    "facets": {
        "modality": {"im": 1, "iv": 0},
        "condition": {"anxiety": 1, "depression": 1},
        "insurer": {"aetna": 1},
        "payment": {"hsa-fsa": 1, "self-pay": 1},
    },
    "demo_data": True,
    "links": {
        "self": _SEARCH_URL,
        "next": None,
        "prev": None,
        "first": _SEARCH_URL,
        "last": _SEARCH_URL,
        "telehealth": None,
    },
}
CLINIC_EXAMPLE: dict[str, Any] = {
    **SUMMARY_EXAMPLE,
    "distance_miles": None,
    "description": "Intramuscular ketamine in Anchorage.",
    "medical_director": "psychiatrist",
    "street": "2324 River Rd",
    "phone": "(907) 555-0184",
    "website": "https://northern-lights.example",
    "email": "",
    "hours": "Mon–Fri 9am–5pm",
    "languages": ["en", "es"],
    "consultation_fee": None,
    "free_consultation": True,
    "integration_therapy": True,
    "good_faith_estimate": False,
    "npi": "",
    "clinician_npis": [],
    "licenses": [],
    "spravato_rems": False,
    "medical_director_name": "",
    "geo_precision": "zip",
    "offerings": [
        {
            "modality": "im",
            "modality_name": "IM injection",
            "price_min": 420,
            "price_max": 420,
            "insurance_accepted": False,
            "series_price": None,
            "series_sessions": None,
            "includes": ["monitoring"],
            "notes": "",
            **_PRICE_DATE,
            "price_confirmed_how": "clinic",
        }
    ],
    "confirmed": {
        "details": "2026-10-29",
        "hours": "2026-10-29",
        "insurance": "2026-10-29",
        "prices": "2026-10-29",
    },
    "credentials": [],
    "updated_at": "2026-12-03T07:51:13.883308+00:00",
}
ERROR_EXAMPLE = {"error": {"field": None, "message": "We could not find that page."}}


def _paths() -> dict[str, Schema]:
    slug = {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": "The listing's slug, as search results give it.",
        "schema": {"type": "string", "pattern": f"^{SLUG_PATTERN}$", "maxLength": MAX_LENGTH},
        "example": SUMMARY_EXAMPLE["slug"],
    }
    default = _json(
        _ref("Error"),
        "Any other problem: 404 for an unknown path, 405 for a method other than GET or HEAD, "
        "503 (with a Retry-After header, in seconds) while the site or its search is briefly "
        "unavailable.",
        ERROR_EXAMPLE,
    )
    return {
        "/search": {
            "get": {
                "operationId": "search",
                "summary": "Search the directory",
                "description": "Clinics matching words, a place and filters, a page at a "
                "time, with the telehealth programs serving the place and counts per filter "
                "code. Walk the pages with `links.next` (or the Link header) until it is null. "
                "Parameters not listed here are ignored.",
                "parameters": [
                    {"$ref": f"#/components/parameters/{name}"} for name in SEARCH_PARAMETERS
                ],
                "responses": {
                    "200": _json(
                        _ref("SearchAnswer"),
                        "One page of results.",
                        SEARCH_EXAMPLE,
                        Link=_header(
                            'The neighbouring pages, as RFC 8288 links: rel="next", "prev", '
                            '"first" and "last".'
                        ),
                    ),
                    "400": _json(
                        _ref("QueryError"),
                        "A parameter that cannot be used: `field` names it, `message` says "
                        "why in words for people, `suggestions` offers places for `where`.",
                        {
                            "error": {
                                "field": "radius",
                                "message": contract.NUMBER_RULES["radius"],
                                "suggestions": [],
                            }
                        },
                    ),
                    "default": default,
                },
            }
        },
        "/clinics/{slug}": {
            "get": {
                "operationId": "clinic",
                "summary": "One clinic's record",
                "description": "Every public field of one published listing. Answers carry "
                "ETag and Last-Modified: ask again with If-None-Match (or If-Modified-Since) "
                "and an unchanged record answers 304 with no body.",
                "parameters": [slug],
                "responses": {
                    "200": _json(_ref("ClinicRecord"), "The record.", CLINIC_EXAMPLE, **VALIDATORS),
                    "304": _not_modified("The record"),
                    "404": _json(
                        _ref("Error"),
                        "No published listing has this slug (it may have been withdrawn).",
                        ERROR_EXAMPLE,
                    ),
                    "default": default,
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "description": "The OpenAPI 3.1 description of this API.",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["openapi", "info", "paths"],
                            "properties": {"openapi": {"const": "3.1.0"}},
                        },
                        "The document.",
                        ETag=VALIDATORS["ETag"],
                    ),
                    "304": _not_modified("The document"),
                    "default": default,
                },
            }
        },
    }


def _build() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Ketamine clinic directory API",
            "version": VERSION,
            "summary": "Search the directory and read clinic records, as JSON.",
            "description": "Read-only and anonymous: no key, no account, no cookie. Within "
            "version 1, keys are only ever added, never renamed or removed, and a value "
            "keeps its meaning. Error messages are written for people: show them as they are.",
        },
        "servers": [{"url": SERVER}],
        "paths": _paths(),
        "components": {
            "parameters": search_parameters(),
            "schemas": {
                "SearchAnswer": _search_answer(),
                "SearchEcho": _echo(),
                "Understood": _understood(),
                "Location": _location(),
                "PageLinks": _links(),
                "ClinicSummary": _object(
                    _summary_properties(), "A search result: enough to list and map a clinic."
                ),
                "ModalitySummary": _modality_summary(),
                "ClinicRecord": _record(),
                "Offering": _offering(),
                "Credential": _credential(),
                "QueryError": _error({"type": "string"}, suggestions_required=True),
                "Error": _error({"type": ["string", "null"]}, suggestions_required=False),
            },
        },
    }


@cache
def _document() -> dict[str, Any]:
    return _build()


def document() -> dict[str, Any]:
    """The document (a copy: callers may change it freely)."""
    return deepcopy(_document())
