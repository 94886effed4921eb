"""Response headers and logging that keep patients' searches private.

Every asset comes from our own origin, so the Content-Security-Policy can forbid
everything else. Werkzeug's access log would write each search URL beside the
client address; the filter below drops the address and the query string.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response

from .config import tile_origins


def content_security_policy(map_tile_url: str = "") -> str:
    """Our own origin only; img-src adds exactly the map tile origin(s), when configured."""
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["img-src 'self' data:", *tile_origins(map_tile_url)]),
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


CONTENT_SECURITY_POLICY = content_security_policy()


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
    policy = content_security_policy(app.config.get("MAP_TILE_URL", ""))

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(self)"
        )
        return response
