"""URL converters: malformed path segments become 404s before any view or query runs."""

from werkzeug.routing import BaseConverter


class SlugConverter(BaseConverter):
    """Lower-case words joined by hyphens, as every listing slug is.

    Anything else (NUL bytes, spaces, 10 kB strings) never reaches the database.
    """

    regex = r"[a-z0-9]+(?:-[a-z0-9]+){0,30}"
