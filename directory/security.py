"""Response headers and logging that keep patients' searches private.

Every asset comes from our own origin, so the Content-Security-Policy can forbid
everything else. Werkzeug's access log would write each search URL beside the
client address; the filter below drops the address and the query string.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class RedactAccessLog(logging.Filter):
    """Strip client addresses and query strings from werkzeug's request lines."""

    _ADDRESS = re.compile(r"^\S+ - - \[")
    _QUERY = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if self._ADDRESS.match(message):
            record.msg = self._ADDRESS.sub("- - - [", message, count=1)
            if isinstance(record.args, tuple):
                record.args = tuple(
                    self._QUERY.sub("?…", a) if isinstance(a, str) else a for a in record.args
                )
        return True


def register(app: Flask) -> None:
    logging.getLogger("werkzeug").addFilter(RedactAccessLog())

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"
        )
        return response
