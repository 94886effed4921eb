"""URL converters: malformed path segments become 404s before any view or query runs."""

from werkzeug.routing import BaseConverter, ValidationError

from .slugs import MAX_LENGTH, SLUG_PATTERN


class SlugConverter(BaseConverter):
    """Lower-case words joined by hyphens, as `slugs.slugify` makes them.

    Anything else (NUL bytes, spaces, 10 kB strings) never reaches the database.
    """

    regex = SLUG_PATTERN

    def to_python(self, value: str) -> str:
        if len(value) > MAX_LENGTH:
            raise ValidationError()
        return value
