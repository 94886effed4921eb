"""Check API answers against the OpenAPI document: every /api/v1 answer of every test.

`install(app)` (called by every test app) validates each answer as it leaves the
app: path, method and status pick the documented response, whose JSON Schema the
body must satisfy (Draft 2020-12, `#/components/...` references resolved inside
the document). An answer that does not validate raises in the app, so the test
that asked sees the error, and is also kept in `FAILURES` for an autouse fixture
to report, in case the test swallowed it (a live server's thread, a test that
expects some 500).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from directory.api.openapi import document

BASE_URI = "urn:ketamine-directory:openapi"
# Every answer of the JSON API is checked; /developers (a page for people) is not.
PREFIX = "/api/v1/"
FAILURES: list[str] = []


class AnswerDoesNotMatchDocument(AssertionError):
    """An API answer the OpenAPI document does not describe."""


@dataclass(frozen=True)
class _Operation:
    template: str
    pattern: re.Pattern[str]
    responses: dict[str, Any]
    pointer: str  # JSON pointer to the operation's responses, for $ref


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class OpenApiCheck:
    """The document's operations and a validator per response schema, built once."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.server = doc["servers"][0]["url"].rstrip("/")
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(BASE_URI, resource)
        self.operations: dict[str, list[_Operation]] = {}
        for template, methods in doc["paths"].items():
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            for method, operation in methods.items():
                pointer = f"/paths/{_escape(template)}/{method}/responses"
                self.operations.setdefault(method.upper(), []).append(
                    _Operation(template, re.compile(f"^{regex}$"), operation["responses"], pointer)
                )
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, pointer: str) -> Draft202012Validator:
        """A validator of the schema at `pointer` in the document (cached)."""
        if pointer not in self._validators:
            self._validators[pointer] = Draft202012Validator(
                {"$ref": f"{BASE_URI}#{pointer}"},
                registry=self.registry,
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
        return self._validators[pointer]

    def _operation(self, method: str, path: str) -> _Operation | None:
        local = path.removeprefix(self.server)
        for operation in self.operations.get("GET" if method == "HEAD" else method, []):
            if operation.pattern.match(local):
                return operation
        return None

    def problems(self, method: str, path: str, status: int, headers: Any, body: bytes) -> list[str]:
        """What is wrong with this answer, by the document (empty: it validates)."""
        operation = self._operation(method, path)
        if operation is None:
            # The router's redirect to the same path with its slashes merged
            # ("/clinics//x" -> "/clinics/x") is not an answer of the API.
            location = urlsplit(headers.get("Location") or "").path
            if status == 308 and self._operation(method, location) is not None:
                return []
            # Not an operation of the document: only the generic errors may answer.
            if status not in (404, 405):
                return [f"{method} {path} is not in the document, yet answered {status}"]
            return self._body_problems("/components/schemas/Error", headers, body)
        responses = operation.responses
        key = next(
            (k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None
        )
        if key is None:
            return [f"status {status} is not documented for {method} {operation.template}"]
        documented = responses[key]
        pointer = f"{operation.pointer}/{key}"
        found = [
            f"header {name} missing"
            for name, spec in documented.get("headers", {}).items()
            if spec.get("required") and name not in headers
        ]
        content = documented.get("content")
        if not content:
            if body:
                found.append(f"status {status} must have no body, got {len(body)} bytes")
            return found
        if method == "HEAD":
            return found
        return found + self._body_problems(
            f"{pointer}/content/{_escape('application/json')}/schema", headers, body
        )

    def _body_problems(self, pointer: str, headers: Any, body: bytes) -> list[str]:
        kind = headers.get("Content-Type", "")
        if not kind.startswith("application/json"):
            return [f"Content-Type is {kind!r}, the document says application/json"]
        try:
            data = json.loads(body)
        except ValueError as exc:
            return [f"the body is not JSON: {exc}"]
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in self.validator(pointer).iter_errors(data)
        ]

    def check(self, response: Response, method: str, path: str) -> None:
        """Raise `AnswerDoesNotMatchDocument` for an answer that does not validate."""
        # The body as the app made it: a 304 must have dropped its own (werkzeug
        # would hide a forgotten one from the client, and from this check).
        problems = self.problems(
            method, path, response.status_code, response.headers, response.get_data()
        )
        if problems:
            summary = f"{method} {path} -> {response.status_code}: " + "; ".join(problems[:5])
            raise AnswerDoesNotMatchDocument(summary)


@cache
def checker() -> OpenApiCheck:
    """One checker for the whole session: the document is the same for every app."""
    return OpenApiCheck(document())


def install(app: Flask) -> None:
    """Validate every /api/v1 answer of `app`; a mismatch fails the request and the test."""

    @app.after_request
    def check_against_document(response: Response) -> Response:
        if request.path.startswith(PREFIX):
            try:
                checker().check(response, request.method, request.path)
            except AnswerDoesNotMatchDocument as exc:
                FAILURES.append(str(exc))
                raise
        return response
