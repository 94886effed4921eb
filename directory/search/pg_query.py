"""Searches on the PostgreSQL index as SQL: the query's conditions, the page, facets
and total in one statement, the page by distance, the telehealth programs.

Every statement is built from fixed fragments; whatever the patient typed only
ever reaches PostgreSQL as a bound parameter (`Sql.bind`). Distances are
`ST_Distance` on the WGS-84 spheroid (the geodesic the contract asks for), with
the sphere (`<->`) as a cheap bound first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ..geo.distance import METERS_PER_MILE
from .backend import Hit
from .pg_index import TABLE, TEXT_CONFIG, kept
from .query import FILTERS, TELEHEALTH_LIMIT, SearchQuery
from .synonyms import expand, group_token
from .trust import TrustCutoffs, cutoffs

# The WGS-84 geodesic between two points is between 0.9944 and 1.0045 times their
# great-circle distance on PostGIS's mean-radius sphere (`<->`, ST_Distance(..., false)):
# the extremes of the ellipsoid's radii of curvature over that radius (0.9950 and
# 1.0042 measured over 100k random US pairs). With room to spare, then: a row within
# SPHERE_INSIDE x r on the sphere is within r on the spheroid (needs 1 / 1.0045), a
# row within r on the spheroid is within SPHERE_OUTSIDE x r on the sphere (needs
# 1 / 0.9944), and a row no farther on the spheroid than one D away on the sphere
# is within SPHERE_SLACK x D on the sphere (needs 1.0045 / 0.9944 = 1.0102).
SPHERE_INSIDE = 0.99
SPHERE_OUTSIDE = 1.01
SPHERE_SLACK = 1.02
# What breaks a tie of the sort's key, most significant first, as `space_sql`'s
# columns (`Plan.ties` computes them from the table): accepting new patients,
# checked credentials, recently confirmed prices, the id (evaluate.Evaluator._ties).
TIES = ("accepting DESC", "checked DESC", "prices_recent DESC", "clinic_id")


@dataclass
class Sql:
    """Fragments and bound parameters of one search."""

    params: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any, prefix: str = "p") -> str:
        name = f"{prefix}{len(self.params)}"
        self.params[name] = value
        return f":{name}"


@dataclass
class Plan:
    """The fragments of one search. `text`, `near`, `flags` and `priced` are over the
    table (`d`); `distance(alias)` and `lowest(alias)` over the alias named. `point`
    and `radius` (metres) are bound parameters, None without a place or for a whole
    state (whose `near` is its in-person clinics). `flags` holds each chosen filter
    and `accepting` and `checked`, which narrow every count but have no facet of
    their own. `checked` and `prices_recent` are over the alias named, with
    `trust`'s day numbers bound."""

    sql: Sql
    units: list[list[list[str]]]
    text: str
    text_key: tuple
    point: str | None
    radius: str | None
    near: str
    flags: dict[str, str]
    priced: str
    lowest: Callable[[str], str]
    max_price: str | None
    trust: TrustCutoffs
    checked_since: str
    prices_since: str

    def checked(self, alias: str) -> str:
        return f"({alias}.checked_ordinal >= {self.checked_since})"

    def prices_recent(self, alias: str) -> str:
        return f"({alias}.prices_ordinal >= {self.prices_since})"

    def ties(self, alias: str) -> str:
        """ORDER BY terms after the sort's key over `alias`'s columns: see TIES."""
        return (
            f"{alias}.accepting DESC, {self.checked(alias)} DESC, "
            f"{self.prices_recent(alias)} DESC, {alias}.clinic_id"
        )

    def distance(self, alias: str) -> str:
        """Miles from the place to `alias`'s point, on the spheroid (NULL without a place)."""
        if self.point is None:
            return "NULL::double precision"
        return f"ST_Distance({alias}.geog, {self.point}) / {METERS_PER_MILE}"

    @property
    def passing(self) -> str:
        """A row of `space` (`s`) that passes the price limit and every filter."""
        return " AND ".join(["s.priced", *(f"s.f_{name}" for name in self.flags)])


def query_units(conn: Connection, q: str) -> list[list[list[str]]]:
    """The query's units, each a list of options, each the lexemes of one word.

    The same units as the Whoosh backend: the group word (indexed wherever any of
    the group's phrases occurs) plus the single-word members. Stop words and
    one-letter words drop out, and so does a unit left without words, as in
    Whoosh; PostgreSQL stems the rest as it stemmed the documents.
    """
    units = []
    for alternatives in expand(q):
        options = [w for w in alternatives if " " not in w and kept(w)]
        if len(alternatives) > 1:
            options.insert(0, group_token(alternatives))
        units.append(options)
    flat = [w for options in units for w in options]
    lexemes = conn.execute(
        text(
            f"SELECT tsvector_to_array(to_tsvector('{TEXT_CONFIG}', w)) "
            "FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS t(w, i) ORDER BY i"
        ),
        {"words": flat},
    ).scalars()
    stemmed = dict(zip(flat, lexemes, strict=True))
    found = [[stemmed[w] for w in options if stemmed[w]] for options in units]
    return [options for options in found if options]


def ts_query(units: list[list[list[str]]], weight: str = "") -> str:
    """tsquery text: every unit, any of its options, all lexemes of an option.

    With `weight` ("a", "b" or "c") the lexemes only match in that field.
    """
    suffix = f":{weight}" if weight else ""

    def lexeme(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'" + suffix

    return " & ".join(
        "(" + " | ".join("(" + " & ".join(map(lexeme, o)) + ")" for o in options) + ")"
        for options in units
    )


def plan_search(conn: Connection, query: SearchQuery, trust: TrustCutoffs | None = None) -> Plan:
    """Every condition of the query as SQL, with its values bound (`trust`: the
    day numbers from which checks and prices count, today's by default)."""
    sql = Sql()
    trust = trust or cutoffs()
    checked_since = sql.bind(trust.checked_since, "t")
    prices_since = sql.bind(trust.prices_since, "t")
    units: list[list[list[str]]] = []
    text_match, text_key = "TRUE", ("all",)
    if query.q:
        units = query_units(conn, query.q)
        text_match, text_key = "FALSE", ("nothing",)
        if units:
            tsquery = ts_query(units)
            text_match = f"d.document @@ CAST({sql.bind(tsquery, 'q')} AS tsquery)"
            text_key = ("match", tsquery)

    place = query.location
    point, radius, near = None, None, "TRUE"
    if query.whole_state is not None:
        near = f"(d.in_person AND d.state = {sql.bind(query.whole_state, 's')})"
    elif place is not None:
        point = (
            f"ST_SetSRID(ST_MakePoint(CAST({sql.bind(place.lng, 'lng')} AS double precision), "
            f"CAST({sql.bind(place.lat, 'lat')} AS double precision)), 4326)::geography"
        )
        radius = sql.bind(query.radius * METERS_PER_MILE, "r")
        near = (
            f"(d.in_person AND d.geog IS NOT NULL "
            f"AND ST_DWithin(d.geog, {point}, CAST({radius} AS double precision)))"
        )

    flags = {
        name: f"d.{name} && CAST({sql.bind(list(codes), 'f')} AS text[])"
        for name in FILTERS
        if (codes := getattr(query, name))
    }
    if query.accepting:
        flags["accepting"] = "d.accepting"
    if query.checked:
        flags["checked"] = f"(d.checked_ordinal >= {checked_since})"
    priced, lowest, max_price = price_terms(sql, query)
    return Plan(
        sql,
        units,
        text_match,
        text_key,
        point,
        radius,
        near,
        flags,
        priced,
        lowest,
        max_price,
        trust,
        checked_since,
        prices_since,
    )


def price_terms(sql: Sql, query: SearchQuery) -> tuple[str, Callable[[str], str], str | None]:
    """The price limit over `d`, the lowest price of a row by alias, and the bound limit.

    With modalities chosen, the lowest price is LEAST over those keys of `prices`
    (LEAST skips NULLs, as min() does), and the limit is met when it is at most
    max_price. Without, the limit is a jsonpath test and the lowest price a min()
    over every offering. Either is one expression per row instead of a subquery
    over jsonb_each_text (docs/performance.md, "What changed, and why").
    """
    codes = [sql.bind(code, "m") for code in query.modality]

    def lowest(alias: str) -> str:
        if codes:
            keys = ", ".join(f"({alias}.prices ->> {code})::integer" for code in codes)
            return f"LEAST({keys})"
        return f"(SELECT min(e.value::integer) FROM jsonb_each_text({alias}.prices) e)"

    if query.max_price is None:
        return "TRUE", lowest, None
    max_price = sql.bind(query.max_price, "x")
    if codes:
        return f"COALESCE({lowest('d')} <= {max_price}, FALSE)", lowest, max_price
    priced = (
        "jsonb_path_exists(d.prices, '$.* ? (@ <= $max)', "
        f"jsonb_build_object('max', CAST({max_price} AS integer)))"
    )
    return priced, lowest, max_price


def page_and_counts(
    conn: Connection,
    plan: Plan,
    query: SearchQuery,
    score: str,
    counted: bool,
    prefix: int | None = None,
) -> tuple[list[Hit], dict[str, dict[str, int]], int]:
    """The page, and when `counted` the facets and total, in one statement.

    With `prefix`, the first `prefix` results in the page's order instead of the page
    (`pg_statistics.Ranked`): ordering costs the same, and the rows are in hand.

    `space` holds the documents matching the text and the place, each with a flag
    per filter: the page and the total take those passing every filter, and the
    facets count, per code, those passing every *other* filter (the price limit
    belongs to the modality filter when modalities are chosen, so a modality's
    count uses that modality's own price). Referenced more than once, `space` is
    computed once. Referenced once (the page alone) without a place, the planner
    folds it into the page's query and can use the filters' indexes; with a
    place it stays MATERIALIZED, so the radius (GiST) bounds the work instead of
    a filter's index intersected with it, which reads tens of thousands of
    postings at 100k documents for a common code.
    """
    parts = [page_sql(plan, query, prefix)]
    if counted:
        parts += facet_sql(plan)
        parts.append(
            f"SELECT 'total', NULL, NULL, count(*), NULL, NULL, NULL, NULL "
            f"FROM space s WHERE {plan.passing}"
        )
    ctes = [
        f"space AS {'MATERIALIZED ' if plan.point else ''}"
        f"({space_sql(plan, query, score, counted)})"
    ]
    if plan.point and query.sort == "distance":
        ctes.append(nearest_sql(plan, query))
    statement = f"WITH {', '.join(ctes)} " + " UNION ALL ".join(parts)
    rows = []
    facets: dict[str, dict[str, int]] = {name: {} for name in FILTERS}
    total = 0
    for row in conn.execute(text(statement), plan.sql.params):
        if row.part == "page":
            rows.append(row)
        elif row.part == "facet":
            facets[row.facet][row.code] = int(row.n)
        else:
            total = int(row.n)
    hits = [
        Hit(
            row.clinic_id,
            float(row.distance) if row.distance is not None else None,
            float(row.score) if row.score is not None else None,
            row.card,
        )
        for row in sorted(rows, key=lambda row: row.n)
    ]
    return hits, facets, total


def space_sql(plan: Plan, query: SearchQuery, score: str, counted: bool) -> str:
    """The matches of the text and place, with what the page (and facets) read."""
    columns = [
        "d.clinic_id",
        "d.geog",
        "d.verified_ordinal",
        "d.accepting",
        f"{plan.checked('d')} AS checked",
        f"{plan.prices_recent('d')} AS prices_recent",
    ]
    if counted or query.sort == "price":
        columns.append("d.prices")
    if counted:
        columns += [f"d.{name}" for name in FILTERS]
    columns.append(f"{score if query.sort == 'relevance' else 'NULL::double precision'} AS score")
    columns.append(f"{plan.priced} AS priced")
    columns += [f"{expr} AS f_{name}" for name, expr in plan.flags.items()]
    return f"SELECT {', '.join(columns)} FROM {TABLE} d WHERE {plan.text} AND {plan.near}"


def nearest_sql(plan: Plan, query: SearchQuery) -> str:
    """How far (on the sphere) the page's last row can be: a bound for the page.

    The exact (spheroid) distance costs several times the sphere's (`<->`), and a
    wide radius holds tens of thousands of rows (docs/performance.md, "What
    changed, and why"). If K = offset + limit passing rows lie within D on the
    sphere, the first K by exact distance all lie within D x SPHERE_SLACK on it
    (see the constants; with a metre for rounding), and only the rows within that
    bound get their exact distance. With fewer than K passing rows the bound is the
    farthest of them, so every row stays in.
    """
    k = plan.sql.bind(query.page * query.per_page, "k")
    return (
        f"nearest AS (SELECT max(n.ds) * {SPHERE_SLACK} + 1 AS bound FROM ("
        f"SELECT s.geog <-> {plan.point} AS ds FROM space s WHERE {plan.passing} "
        f"ORDER BY ds LIMIT {k}) n)"
    )


def nearest_page(conn: Connection, plan: Plan, query: SearchQuery) -> list[Hit]:
    """A page by distance without reading every row in the radius (facets known).

    First the K = offset + limit nearest passing rows on the sphere, by the GiST
    index's KNN order (it stops after K), among those surely in the radius
    (within SPHERE_INSIDE x r on the sphere: a subset of the results). If there
    are K of them, the results' first K by exact distance lie within their
    farthest x SPHERE_SLACK on the sphere, as in `nearest`; if not, within
    SPHERE_OUTSIDE x r. Then only the rows within that bound get their exact
    distance. The plain `&&` with `_ST_Expand` (what ST_DWithin's index
    condition is made of) gives the planner a fair row estimate; ST_DWithin's
    own estimate is a few rows, for which it would read the whole radius and
    sort it (figures: docs/performance.md, "What changed, and why").
    """
    sql = plan.sql
    k = sql.bind(query.page * query.per_page, "k")
    limit = sql.bind(query.per_page, "l")
    offset = sql.bind((query.page - 1) * query.per_page, "o")
    radius = f"CAST({plan.radius} AS double precision)"
    matching = " AND ".join([plan.text, plan.priced, *plan.flags.values()])
    statement = f"""
        WITH nearest AS (
            SELECT CASE WHEN count(*) < {k} THEN {radius} * {SPHERE_OUTSIDE}
                        ELSE max(n.ds) * {SPHERE_SLACK} END + 1 AS bound
            FROM (
                SELECT d.geog <-> {plan.point} AS ds FROM {TABLE} d
                WHERE d.in_person AND d.geog && _ST_Expand({plan.point}, {radius})
                  AND (d.geog <-> {plan.point}) <= {radius} * {SPHERE_INSIDE}
                  AND {matching}
                ORDER BY d.geog <-> {plan.point} LIMIT {k}
            ) n
        )
        SELECT d.clinic_id, {plan.distance("d")} AS distance, d.card
        FROM {TABLE} d
        WHERE {plan.near} AND {matching}
          AND ST_DWithin(d.geog, {plan.point}, (SELECT bound FROM nearest), false)
        ORDER BY distance, {plan.ties("d")} LIMIT {limit} OFFSET {offset}
    """
    return [
        Hit(row.clinic_id, float(row.distance), None, row.card)
        for row in conn.execute(text(statement), sql.params)
    ]


def page_sql(plan: Plan, query: SearchQuery, prefix: int | None = None) -> str:
    """The page's rows out of `space` (or with `prefix`, the first `prefix` rows),
    numbered in order: by the sort's key, then `Plan.ties` ("distance" without a
    point, a whole state's search, is "recent"; the last tie, the id, makes the
    order total, so a page is a slice of a longer prefix).

    The outer row_number orders them again (at most 50): a UNION ALL promises
    no order of its own.
    """
    sql = plan.sql
    sort = query.sort if query.sort != "distance" or plan.point else "recent"
    first = {
        "distance": "distance",
        "relevance": "score DESC",
        "price": "lowest ASC NULLS LAST",
        "recent": "verified_ordinal DESC",
    }[sort]
    keys = [first, *TIES]
    lowest = plan.lowest("s") if query.sort == "price" else "NULL::integer"
    where = plan.passing
    if plan.point and query.sort == "distance":
        where += f" AND (s.geog <-> {plan.point}) <= (SELECT bound FROM nearest)"
    start = (query.page - 1) * query.per_page
    if prefix is None:
        limit = sql.bind(query.per_page, "l")
        offset = sql.bind(start, "o")
        shown = "TRUE"
    else:
        limit, offset = sql.bind(prefix, "l"), "0"
        shown = (
            f"row_number() OVER w BETWEEN {sql.bind(start + 1, 'o')} "
            f"AND {sql.bind(start + query.per_page, 'o')}"
        )
    # The page's cards from the statement's own snapshot, so a row removed since
    # cannot leave the page shorter than its total (`with_cards`); read (from
    # TOAST) only for the rows of the page.
    return f"""
        SELECT 'page' AS part, NULL::text AS facet, NULL::text AS code,
               row_number() OVER w AS n, p.clinic_id, p.distance, p.score,
               CASE WHEN {shown} THEN c.card END AS card
        FROM (
            SELECT s.clinic_id, {plan.distance("s")} AS distance, s.score,
                   {lowest} AS lowest, s.verified_ordinal, s.accepting, s.checked,
                   s.prices_recent
            FROM space s WHERE {where}
            ORDER BY {", ".join(keys)} LIMIT {limit} OFFSET {offset}
        ) p
        JOIN {TABLE} c ON c.clinic_id = p.clinic_id
        WINDOW w AS (ORDER BY {", ".join(f"p.{k}" for k in keys)})
        """


def facet_sql(plan: Plan) -> list[str]:
    """Per filter, every code present in `space` with the count of its rows that
    pass the other filters (zero counts included, as codes present)."""
    parts = []
    for name in FILTERS:
        conditions = [f"t.f_{other}" for other in plan.flags if other != name]
        if name == "modality" and plan.max_price is not None:
            conditions.append(f"(t.prices ->> t.code)::integer <= {plan.max_price}")
        elif plan.max_price is not None:
            conditions.append("t.priced")
        condition = " AND ".join(conditions) or "TRUE"
        # unnest in the select list (ProjectSet) rather than LATERAL: no
        # function scan, with its own tuplestore, per row.
        parts.append(
            f"SELECT 'facet', '{name}', t.code, count(*) FILTER (WHERE {condition}), "
            f"NULL, NULL, NULL, NULL "
            f"FROM (SELECT unnest(s.{name}) AS code, s.* FROM space s) t GROUP BY t.code"
        )
    return parts


def with_cards(conn: Connection, *lists: list[Hit]) -> list[list[Hit]]:
    """These hit lists with each hit's result card, those without one read by id in
    one statement.

    The page statements read their page's cards themselves; the telehealth
    programs and the nearest clinics (and the hits kept per generation by
    `pg_statistics`) take theirs here, after the search's own statements: a row
    rewritten meanwhile gives its newer card, and a row removed meanwhile none
    (it is left out; the finder skips it).
    """
    ids = sorted({hit.clinic_id for hits in lists for hit in hits if hit.card is None})
    cards: dict[int, str] = {}
    if ids:
        rows = conn.execute(
            text(f"SELECT clinic_id, card FROM {TABLE} WHERE clinic_id = ANY(:ids)"),
            {"ids": ids},
        )
        cards = {clinic_id: card for clinic_id, card in rows}
    return [
        [
            hit if hit.card is not None else replace(hit, card=cards[hit.clinic_id])
            for hit in hits
            if hit.card is not None or hit.clinic_id in cards
        ]
        for hits in lists
    ]


def telehealth_hits(
    conn: Connection, plan: Plan, query: SearchQuery, score: str, state: str
) -> list[Hit]:
    """Programs licensed in the searched state that are not already results.

    The OFFSET 0 subquery keeps the planner to the state's programs (a few
    thousand at most, by the states_served index) instead of intersecting them
    with the text's or a filter's index, which at 100k documents reads tens of
    thousands of postings for a common word or code.
    """
    filters = "".join(f" AND {expr}" for expr in plan.flags.values())
    statement = f"""
        SELECT d.clinic_id, {score} AS score, {plan.lowest("d")} AS lowest
        FROM (
            SELECT * FROM {TABLE} t
            WHERE t.telehealth AND t.states_served @> CAST({state} AS text[])
            OFFSET 0
        ) d
        WHERE {plan.text} AND {plan.priced}{filters}
          AND NOT COALESCE({plan.near}, FALSE)
        ORDER BY score DESC, lowest ASC NULLS LAST, {plan.ties("d")}
        LIMIT {TELEHEALTH_LIMIT}
    """
    return [
        Hit(row.clinic_id, None, float(row.score) if query.q else None)
        for row in conn.execute(text(statement), plan.sql.params)
    ]
