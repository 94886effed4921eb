"""The API described for people at /developers, rendered from the OpenAPI document.

One source for both: the page cannot promise what the document (and so the test
suite) does not. Plain HTML from our own origin: no Swagger UI, no script.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

from flask import render_template, url_for
from flask.blueprints import BlueprintSetupState
from markupsafe import Markup, escape

from .openapi import document

PATH = "/developers"
_CODE_SPAN = re.compile(r"`([^`]+)`")


def register(state: BlueprintSetupState) -> None:
    """Serve the page outside the blueprint's /api/v1 prefix: it is a page, not JSON."""
    state.app.add_url_rule(PATH, endpoint="api_docs", view_func=api_docs)
    state.app.add_template_filter(words, "api_words")


def api_docs() -> str:
    """Every endpoint with its parameters, answers and an example of each."""
    doc = document()
    return render_template(
        "api_docs.html",
        info=doc["info"],
        server=doc["servers"][0]["url"],
        operations=operations(doc),
        shapes={name: fields(schema) for name, schema in doc["components"]["schemas"].items()},
        document_url=url_for("api.openapi"),
    )


def words(text: str) -> Markup:
    """A description as HTML: escaped, its `code spans` (CommonMark) as <code>."""
    return Markup(_CODE_SPAN.sub(r"<code>\1</code>", str(escape(text))))


def _resolve(doc: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` ("#/components/parameters/q") to what it names."""
    if "$ref" not in item:
        return item
    target: Any = doc
    for part in item["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return target


def operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each (path, method) of the document, flattened for the template."""
    server = doc["servers"][0]["url"]
    found = []
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            parameters = [_resolve(doc, p) for p in operation.get("parameters", [])]
            answers = operation["responses"]
            ok = answers.get("200", {}).get("content", {}).get("application/json", {})
            found.append(
                {
                    "id": operation["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": operation["summary"],
                    "description": operation["description"],
                    "parameters": [
                        {**p, "type": type_words(p["schema"]), "limits": limits(p["schema"])}
                        for p in parameters
                    ],
                    "responses": [
                        (status, answer["description"], _schema_name(answer))
                        for status, answer in answers.items()
                    ],
                    "request": f"GET {server}{_example_path(path, parameters)}",
                    "example": json.dumps(ok["example"], indent=2, ensure_ascii=False)
                    if "example" in ok
                    else None,
                }
            )
    return found


def _example_path(path: str, parameters: list[dict[str, Any]]) -> str:
    query = []
    for parameter in parameters:
        if "example" not in parameter:
            continue
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", parameter["example"])
        else:
            query.append((parameter["name"], parameter["example"]))
    return f"{path}?{urlencode(query)}" if query else path


def _schema_name(answer: dict[str, Any]) -> str | None:
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").rsplit("/", 1)[-1] or None


def type_words(schema: dict[str, Any]) -> str:
    """A schema's type as a reader says it: "integer or null", "array of Offering"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "oneOf" in schema:
        return " or ".join(type_words(s) for s in schema["oneOf"])
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    words = []
    for kind in kinds:
        if kind == "array":
            words.append(f"array of {type_words(schema.get('items', {}))}")
        elif kind == "object" and "additionalProperties" in schema and "properties" not in schema:
            words.append(f"object of {type_words(schema['additionalProperties'])}")
        else:
            words.append(kind)
    return " or ".join(words)


def limits(schema: dict[str, Any]) -> str:
    """Bounds and choices in words: "1 to 500, default 50", "one of: distance, price"."""
    parts = []
    if "minimum" in schema and "maximum" in schema:
        parts.append(f"{schema['minimum']:,} to {schema['maximum']:,}")
    elif "maximum" in schema:
        parts.append(f"at most {schema['maximum']:,}")
    if "maxLength" in schema:
        parts.append(f"at most {schema['maxLength']:,} characters")
    if "maxItems" in schema:
        parts.append(f"at most {schema['maxItems']:,} items")
    choices = schema.get("enum") or schema.get("items", {}).get("enum")
    if choices:
        parts.append("one of: " + ", ".join("(blank)" if c == "" else str(c) for c in choices))
    if "default" in schema:
        parts.append(f"default {json.dumps(schema['default'])}")
    return "; ".join(parts)


def fields(schema: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(key, type, limits, meaning) of each property of an object shape."""
    return [
        (name, type_words(spec), limits(spec), spec.get("description", ""))
        for name, spec in schema.get("properties", {}).items()
    ]
