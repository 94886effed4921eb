"""The listing as a clinic's edit form showed it, carried by the form itself.

The edit form holds a signed hidden field with the clinic's id, the version the
form was opened at and the record it showed. The revision keeps that base, so a
pending edit is stale only when a field it changes was changed by someone else
after the form was opened (`records.conflicting_keys`), whatever happened to
other fields or to the verified date meanwhile.

Carrying the record in the form needs no per-version history on the server, and
the base is exactly what the clinic saw. It is signed, not encrypted: it holds
only the clinic's own listing. A field that fails the signature, or was signed
for another listing, is refused (`InvalidBase`), never silently replaced by the
live listing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "listing-edit-base"


class InvalidBase(Exception):
    """The hidden field was altered, is missing, or belongs to another listing."""


@dataclass(frozen=True)
class EditBase:
    """What an edit was made against: the clinic's version and record at that moment."""

    version: int
    record: dict[str, Any]


def _serializer() -> URLSafeSerializer:
    # URLSafeSerializer compresses the payload when that makes it shorter.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def sign(clinic_id: int, base: EditBase) -> str:
    """The hidden field's value for an edit form of `clinic_id` opened on `base`."""
    return _serializer().dumps({"c": clinic_id, "v": base.version, "r": base.record})


def read(token: str | None, clinic_id: int) -> EditBase:
    """The base a form of `clinic_id` was opened on; `InvalidBase` for anything else."""
    if not token:
        raise InvalidBase("missing")
    try:
        payload = _serializer().loads(token)
    except BadSignature as exc:
        raise InvalidBase("bad signature") from exc
    if (
        not isinstance(payload, dict)
        or payload.get("c") != clinic_id
        or not isinstance(payload.get("v"), int)
        or not isinstance(payload.get("r"), dict)
    ):
        raise InvalidBase("not for this listing")
    return EditBase(payload["v"], payload["r"])
