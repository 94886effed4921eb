"""Outgoing mail: plain-text messages written to an outbox folder, or sent by SMTP.

Every mail's words are a template in `templates/mail/` (`render_mail`), and every
mail goes out through `send_mail`.

With no SMTP host configured (local runs, tests) every message becomes a readable
`.eml` file in `<instance>/outbox/`, so nothing leaves the machine and a developer
can open the sign-up or reset link straight from the file. Setting `MAIL_SMTP_HOST`
switches to real delivery without touching any caller.

Mails can hold sign-in secrets (reset links), so outbox files are private to the
user running the app and each is written in one step (temp file + rename): a
reader never sees half a message. Their links come from `external_url`, which
starts every link with SITE_URL, never with the Host header of a request.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, render_template

from .config import flag, number

# The sender when MAIL_FROM is unset: SITE_NAME at this address.
DEFAULT_FROM_ADDRESS = "no-reply@directory.invalid"
SMTP_TIMEOUT_SECONDS = 15


def send_mail(to: str, subject: str, body: str) -> None:
    """Send one plain-text message to one address; raise when delivery fails.

    Callers that must not reveal whether an address has an account catch and log
    the error themselves (see `directory.account.services`).
    """
    message = build_message(to, subject, body)
    if current_app.config.get("MAIL_SMTP_HOST"):
        _send_smtp(message)
    else:
        _write_outbox(message, outbox_dir(current_app))


def render_mail(name: str, **context: Any) -> tuple[str, str]:
    """(subject, body) of `templates/mail/<name>.txt`, with `site_name` in its context.

    The template's first line is the subject and the body follows one blank line.
    Plain text: Flask does not autoescape `.txt`, so "Smith & Jones" reads as written;
    no mail is ever HTML. A subject that renders to several lines is refused, as a
    header must be one line.
    """
    text = render_template(f"mail/{name}.txt", site_name=current_app.config["SITE_NAME"], **context)
    subject, blank, body = text.partition("\n\n")
    if not blank or "\n" in subject:
        raise ValueError(f"mail/{name}.txt must start with a one-line subject and a blank line")
    return subject, body + "\n"  # Jinja drops the template's final newline


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link to `endpoint` on SITE_URL, the same inside a request or outside.

    Built with the app's own URL map bound to SITE_URL, so whatever Host header (or
    X-Forwarded-Host) a request carried, a mailed link points at this site.
    """
    app = current_app._get_current_object()
    site = urlsplit(app.config["SITE_URL"])
    app.inject_url_defaults(endpoint, values)
    adapter = app.url_map.bind(site.netloc, script_name="/", url_scheme=site.scheme)
    return adapter.build(endpoint, values, force_external=True)


def build_message(to: str, subject: str, body: str) -> EmailMessage:
    """The message as sent. `EmailMessage` refuses newlines in headers (no injection)."""
    config = current_app.config
    sender = config.get("MAIL_FROM") or formataddr((config["SITE_NAME"], DEFAULT_FROM_ADDRESS))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = sender.rpartition("@")[2].rstrip(">").strip() or "directory.invalid"
    message["Message-ID"] = make_msgid(domain=domain)
    # Plain 7bit when possible (always, for our ASCII texts): the outbox file then
    # shows links whole instead of quoted-printable soft line breaks.
    lines = body.splitlines() or [""]
    seven_bit = body.isascii() and max(len(line) for line in lines) <= 998
    message.set_content(body, cte="7bit" if seven_bit else None)
    return message


def outbox_dir(app: Flask) -> Path:
    """Where the file transport writes: `MAIL_OUTBOX_DIR`, else `<instance>/outbox`."""
    configured = app.config.get("MAIL_OUTBOX_DIR")
    return Path(configured or os.path.join(app.config["INSTANCE_DIR"], "outbox"))


def outbox_messages(app: Flask) -> list[EmailMessage]:
    """Every message in the outbox, oldest first (file names sort by time)."""
    folder = outbox_dir(app)
    if not folder.is_dir():
        return []
    parser = BytesParser(policy=policy.default)
    messages: list[EmailMessage] = []
    for path in sorted(folder.glob("*.eml")):
        with path.open("rb") as handle:
            parsed = parser.parse(handle)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def _write_outbox(message: EmailMessage, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{stamp}-{uuid.uuid4().hex}.eml"
    # mkstemp creates the file with mode 0600; os.replace makes it appear whole.
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".eml")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(message.as_bytes(policy=policy.default))
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def _send_smtp(message: EmailMessage) -> None:
    """Deliver through the configured relay.

    Port 465 means TLS from the first byte; any other port uses STARTTLS unless
    `MAIL_SMTP_STARTTLS` is off (only sensible for a relay on localhost).
    """
    config = current_app.config
    host = config["MAIL_SMTP_HOST"]
    # Parsed again: a caller may set app.config after start (tests do).
    port = number("MAIL_SMTP_PORT", config.get("MAIL_SMTP_PORT"), 1, 65_535, default=587)
    user = config.get("MAIL_SMTP_USER") or ""
    password = config.get("MAIL_SMTP_PASSWORD") or ""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if port == 465:
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
    with smtp:
        if port != 465 and flag("MAIL_SMTP_STARTTLS", config.get("MAIL_SMTP_STARTTLS"), True):
            smtp.starttls(context=context)
        if user:
            smtp.login(user, password)
        smtp.send_message(message)
