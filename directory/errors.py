"""Error pages: JSON for the API, HTML for people; a 500 rolls the session back.

A database that cannot answer now (pool exhausted, server down, SQLite's write lock
taken past its busy timeout) is a 503 with Retry-After, never a hang or a 500; a
form whose save hit the busy lock is shown again instead, with what was typed.
"""

from __future__ import annotations

from flask import Flask, g, jsonify, render_template, request
from flask.globals import request_ctx
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from . import forms
from .database import DatabaseBusy, DatabaseUnavailable
from .extensions import db, login_manager

FRIENDLY = {
    400: "We could not understand that request.",
    404: "We could not find that page.",
    405: "That action is not allowed here.",
    413: "That upload is too large.",
    429: "Too many requests. Please wait a minute and try again.",
    503: "This page is briefly unavailable. Please try again in a few minutes.",
}
BUSY = "The site is very busy just now. Please try again in a few seconds."
# Seconds a client should wait: a busy moment passes quickly, a database restart not.
RETRY_BUSY_SECONDS = 5
RETRY_DOWN_SECONDS = 30


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

    def database_not_now(error: Exception, message: str | None, retry_after: int):
        """A 503 rendered without touching the database (nor the signed-in user)."""
        detail = error.orig if isinstance(error, DBAPIError) else error
        first_line = (str(detail).splitlines() or [""])[0]
        app.logger.warning(
            "Database not available on %s: %s: %s", request.path, type(detail).__name__, first_line
        )
        try:
            db.session.rollback()
        except SQLAlchemyError:
            db.session.close()
        # The page's header asks `current_user`, which would load it from the database.
        g._login_user = login_manager.anonymous_user()
        return http_error(ServiceUnavailable(message, retry_after=retry_after))

    @app.errorhandler(PoolTimeout)
    def pool_exhausted(error: PoolTimeout):
        return database_not_now(error, BUSY, RETRY_BUSY_SECONDS)

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(error: DatabaseUnavailable):
        return database_not_now(error, None, RETRY_DOWN_SECONDS)

    @app.errorhandler(DatabaseBusy)
    def database_busy(error: DatabaseBusy):
        """Run a form's view once more, its forms now failing with the busy message
        (directory/forms.py), so the person sees their page again with what they typed.

        Anything else (a GET, a view that read no form, a second busy run) is a 503.
        """
        db.session.rollback()
        if request.method == "POST" and forms.form_was_validated() and not forms.retrying():
            forms.retry_after_busy()
            try:
                answer = app.dispatch_request()
            except DatabaseBusy as again:
                error = again
            except Exception as other:  # the view's own failures get their own pages
                return app.handle_user_exception(other)
            else:
                if forms.busy_message_shown():
                    return answer
        return database_not_now(error, BUSY, RETRY_BUSY_SECONDS)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        app.logger.exception("Unhandled error on %s", request.path)
        return http_error(InternalServerError())
