"""Error pages: JSON for the API, HTML for people; a 500 rolls the session back."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from .extensions import db

FRIENDLY = {
    400: "We could not understand that request.",
    404: "We could not find that page.",
    405: "That action is not allowed here.",
    413: "That upload is too large.",
    429: "Too many requests. Please wait a minute and try again.",
    503: "This page is briefly unavailable. Please try again in a few minutes.",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _can_build_urls() -> bool:
    return getattr(request_ctx, "url_adapter", None) is not None


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status >= 500:
            db.session.rollback()
        message = (
            error.description
            if status == 503 and error.description != ServiceUnavailable.description
            else FRIENDLY.get(status, error.description or error.name)
        )
        # Keep what the exception says about retrying (a 503's Retry-After, a 429's).
        headers = {k: v for k, v in error.get_headers() if k == "Retry-After"}
        if _wants_json():
            response = jsonify({"error": {"field": None, "message": message}})
            response.status_code = status
            response.headers.update(headers)
            return response
        if not _can_build_urls():
            # The request was refused before routing (an untrusted Host header): the
            # page's links cannot be built, so answer in plain text.
            headers["Content-Type"] = "text/plain; charset=utf-8"
            return message, status, headers
        return render_template("error.html", status=status, message=message), status, headers

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("Unhandled error on %s", request.path)
        return http_error(InternalServerError())
