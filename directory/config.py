"""Settings read from environment variables, with safe defaults for a local run.

Configuration is read when the app is created (never at import time), so tests can
build several apps with different settings in one process.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance_path: Path) -> str:
    """Use SECRET_KEY when set; otherwise a random key kept in instance/ for local runs.

    A key is never committed: a local run creates one on first start and reuses it,
    so sessions survive a restart without anyone choosing a weak literal.
    """
    env = os.environ.get("SECRET_KEY")
    if env:
        return env
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(instance_path: Path | None = None, **overrides: Any) -> dict[str, Any]:
    """Build the Flask config mapping from the environment, then apply overrides."""
    instance = Path(os.environ.get("INSTANCE_PATH", instance_path or DEFAULT_INSTANCE))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'directory.sqlite'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    secure_cookies = _bool(os.environ.get("SECURE_COOKIES"), default=True)
    config: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SEARCH_BACKEND": os.environ.get("SEARCH_BACKEND", "whoosh"),
        "SEARCH_INDEX_DIR": os.environ.get("SEARCH_INDEX_DIR", str(instance / "search-index")),
        "DEMO_DATA": _bool(os.environ.get("DEMO_DATA"), default=True),
        "SITE_NAME": os.environ.get("SITE_NAME", "Ketamine Clinic Directory"),
        "DEFAULT_RADIUS_MILES": 50,
        # Cookies are Secure by default; `make run` on plain http://127.0.0.1 sets
        # SECURE_COOKIES=0 so forms work locally.
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": 3600 * 4,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "JSON_SORT_KEYS": False,
        # Mail: without MAIL_SMTP_HOST every message is a .eml file in the outbox
        # folder (default <instance>/outbox), so nothing leaves a local machine.
        "MAIL_SMTP_HOST": os.environ.get("MAIL_SMTP_HOST", ""),
        "MAIL_SMTP_PORT": int(os.environ.get("MAIL_SMTP_PORT") or 587),
        "MAIL_SMTP_USER": os.environ.get("MAIL_SMTP_USER", ""),
        "MAIL_SMTP_PASSWORD": os.environ.get("MAIL_SMTP_PASSWORD", ""),
        "MAIL_SMTP_STARTTLS": _bool(os.environ.get("MAIL_SMTP_STARTTLS"), default=True),
        "MAIL_FROM": os.environ.get("MAIL_FROM", ""),
        "MAIL_OUTBOX_DIR": os.environ.get("MAIL_OUTBOX_DIR", ""),
    }
    config.update(overrides)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(instance)
    config["INSTANCE_DIR"] = str(instance)
    return config
