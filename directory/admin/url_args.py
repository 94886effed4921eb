"""What Flask-Admin model views accept in their URLs before anything reaches the database.

Flask-Admin hands the list's search box, filter values and page number, and a
record's `?id=`, to SQL as they come. On PostgreSQL a NUL in text, a word for an
integer key or a page past 2**63 is a database error (a 500); SQLite overflows on
the page. So, for people:

* a search or filter value with control characters is dropped with a message
  beside the list, answered 400;
* a page number below the first or past the last is the nearest page;
* an id that cannot be a key is "no such record" (Flask-Admin's own message).
"""

from __future__ import annotations

import math
from typing import Any

from flask import flash, g, make_response
from flask_admin.model.base import ViewArgs
from sqlalchemy import Integer, inspect

from ..forms import has_control_characters

SEARCH_MESSAGE = "Remove control characters from the search: they cannot be searched for."
FILTER_MESSAGE = "A filter value held control characters, so that filter was left out."
_MAX_KEY = 2**31 - 1  # the largest integer key PostgreSQL's INTEGER holds


class GuardedListArguments:
    """Mixin for Flask-Admin `ModelView`s (before `ModelView` in the bases)."""

    def _get_list_extra_args(self) -> ViewArgs:
        args: ViewArgs = super()._get_list_extra_args()  # type: ignore[misc]
        if has_control_characters(args.search):
            args = args.clone(search=None)
            _refuse(SEARCH_MESSAGE)
        if args.filters:
            kept = [flt for flt in args.filters if not has_control_characters(flt[2])]
            if len(kept) < len(args.filters):
                args = args.clone(filters=kept or None)
                _refuse(FILTER_MESSAGE)
        return args.clone(page=self._nearest_page(args))

    def _nearest_page(self, args: ViewArgs) -> int:
        """`args.page` moved into [0, last page]; counting only for pages past the first."""
        page = args.page or 0
        if page <= 0:
            return 0
        page_size = self.get_safe_page_size(args.page_size)  # type: ignore[attr-defined]
        if not page_size:
            return 0
        count, _query = self.get_list(  # type: ignore[attr-defined]
            0, None, None, args.search, args.filters, execute=False, page_size=page_size
        )
        if count is None:  # a simple pager does not count: stay within what SQL can offset
            return min(page, _MAX_KEY // page_size)
        return min(page, max(0, math.ceil(count / page_size) - 1))

    def get_invalid_value_msg(self, value: str, filter: Any) -> str:
        """Flask-Admin's message for a value a filter refuses, without echoing controls."""
        if has_control_characters(value):
            g.admin_list_refused = True
            return FILTER_MESSAGE
        return super().get_invalid_value_msg(value, filter)  # type: ignore[misc]

    def get_one(self, id: Any) -> Any:
        """None (no such record) for an id that cannot be one of this model's keys."""
        if not self._possible_key(id):
            return None
        return super().get_one(id)  # type: ignore[misc]

    def _possible_key(self, id: Any) -> bool:
        key = inspect(self.model).primary_key  # type: ignore[attr-defined]
        integer = len(key) == 1 and isinstance(key[0].type, Integer)
        if isinstance(id, int) and not isinstance(id, bool):
            return integer and 0 <= id <= _MAX_KEY
        if not isinstance(id, str) or has_control_characters(id):
            return False
        return not integer or (id.isascii() and id.isdigit() and int(id) <= _MAX_KEY)

    def render(self, template: str, **kwargs: Any) -> Any:
        """The list page answers 400 when a search or filter value was refused."""
        page = super().render(template, **kwargs)  # type: ignore[misc]
        if g.get("admin_list_refused") and template == self.list_template:  # type: ignore[attr-defined]
            return make_response(page, 400)
        return page


def _refuse(message: str) -> None:
    flash(message, "error")
    g.admin_list_refused = True
