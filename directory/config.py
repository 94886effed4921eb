"""Settings read from environment variables, with safe defaults for a local run.

Configuration is read when the app is created (never at import time), so tests can
build several apps with different settings in one process.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask.helpers import get_debug_flag

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"
# Shown in the header, the title, every mail and the default sender; SITE_NAME replaces it.
DEFAULT_SITE_NAME = "Ketamine Clinic Directory"

_YES = frozenset({"1", "true", "yes", "on"})
_NO = frozenset({"0", "false", "no", "off"})


def flag(name: str, value: Any, default: bool) -> bool:
    """A yes/no setting: a bool, or 1/true/yes/on, 0/false/no/off in any case.

    Unset or empty means `default`; anything else is a start-up error naming it, so
    a mistyped SECURE_COOKIES=flase cannot quietly turn secure cookies off.
    """
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if not text:
        return default
    if text in _YES or text in _NO:
        return text in _YES
    raise ValueError(f"{name} must be one of 1/true/yes/on or 0/false/no/off, not {value!r}")


def number(name: str, value: Any, low: int, high: int, default: int | None = None) -> int:
    """A whole-number setting within [low, high], or a start-up error naming it.

    Unset or empty means `default` when one is given (environment values are text).
    """
    text = str(value if value is not None else "").strip()
    if not text and default is not None:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {text!r}")
    return int(text)


def site_name(value: Any) -> str:
    """SITE_NAME, or the default when unset; one line, as it heads every mail's subject."""
    name = str(value if value is not None else "").strip() or DEFAULT_SITE_NAME
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise ValueError(f"SITE_NAME must be one line without control characters: {name!r}")
    return name


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


# Leaflet's default {s} subdomains: each becomes one exact origin in the CSP.
TILE_SUBDOMAINS = ("a", "b", "c")


def tile_url(value: str | None) -> str:
    """Check MAP_TILE_URL: empty, an https:// URL template or a path on our own origin.

    Empty means no map images at all: the map shows markers on a plain background.
    A template must hold {z}, {x} and {y}; in the host only a leading "{s}." label is
    allowed (Leaflet's a/b/c subdomains), so the CSP can name every origin exactly.
    """
    url = (value or "").strip()
    if not url:
        return ""
    missing = [part for part in ("{z}", "{x}", "{y}") if part not in url]
    if missing:
        raise ValueError(f"MAP_TILE_URL needs {', '.join(missing)}: {url!r}")
    if url.startswith("/"):
        # "//host" and "/\\host" are other origins to a browser, not paths.
        if url[1:2] in ("/", "\\"):
            raise ValueError(f"MAP_TILE_URL must not start with {url[:2]!r}: {url!r}")
        return url
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("{s}.")
    if parts.scheme != "https" or not host or not re.fullmatch(r"[A-Za-z0-9.:-]+", host):
        raise ValueError(
            "MAP_TILE_URL must be an https:// URL template (only a leading {s}. in the host) "
            f"or a path starting with /: {url!r}"
        )
    return url


def tile_origins(url: str) -> list[str]:
    """The origins the browser fetches map images from (none for empty or own-origin)."""
    if not url or url.startswith("/"):
        return []
    parts = urlsplit(url)
    if parts.netloc.startswith("{s}."):
        host = parts.netloc.removeprefix("{s}.")
        return [f"{parts.scheme}://{sub}.{host}".lower() for sub in TILE_SUBDOMAINS]
    return [f"{parts.scheme}://{parts.netloc}".lower()]


def rate_limit_storage(value: str | None) -> str:
    """Check RATE_LIMIT_STORAGE: `database` (default) or a redis://, rediss://, unix:// URL."""
    url = (value or "").strip() or "database"
    if url != "database" and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(
            "RATE_LIMIT_STORAGE must be 'database' or a Redis URL such as "
            f"redis://127.0.0.1:6379/0, not {url!r}"
        )
    return url


def site_url(value: str | None) -> str:
    """Check SITE_URL: `http(s)://host[:port]`, nothing after but "/"; kept without the slash.

    Every link in a mail is built from it, never from a request's Host header, so a
    stranger cannot have a password-reset mail point at their own site.
    """
    url = (value or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or above 65535
        port_ok = False
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not port_ok
        or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", parts.netloc)  # no user@, no spaces
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or url.endswith(("?", "#"))
    ):
        raise ValueError(
            "SITE_URL must be the site's address, http(s)://host[:port] with no path, "
            f"such as https://directory.example.org, not {url!r}"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _site_url_or_stand_in(config: dict[str, Any]) -> str:
    """SITE_URL, or for tests and debug runs a stand-in; production refuses to start.

    The stand-in is SERVER_NAME when one is set (tests), else the address
    `flask run` serves on by default.
    """
    url = site_url(config.get("SITE_URL"))
    if url:
        return url
    if not (config.get("TESTING") or config.get("DEBUG") or get_debug_flag()):
        raise ValueError(
            "SITE_URL is not set: mailed links (verification, password reset) are built "
            "from it, never from the request's Host header. Set it to the address people "
            "use, such as SITE_URL=https://directory.example.org"
        )
    return site_url(f"http://{config.get('SERVER_NAME') or '127.0.0.1:5000'}")


def trusted_proxies(value: Any) -> int:
    """Check TRUSTED_PROXIES: how many reverse proxies in front of the app (0 to 5)."""
    return number("TRUSTED_PROXIES", value, 0, 5, default=0)


def web_workers(value: Any) -> int:
    """WEB_WORKERS: gunicorn processes (gunicorn.conf.py; default 2, for 2 cores)."""
    return number("WEB_WORKERS", value, 1, 64, default=2)


def web_threads(value: Any) -> int:
    """WEB_THREADS: threads per gunicorn process (default 4). Read by gunicorn.conf.py
    and by the app, whose PostgreSQL pool holds one connection per thread plus one."""
    return number("WEB_THREADS", value, 1, 64, default=4)


def _hosts(value: str | None) -> list[str] | None:
    names = [name.strip().lower() for name in (value or "").split(",") if name.strip()]
    return names or None


def load_config(instance_path: Path | None = None, **overrides: Any) -> dict[str, Any]:
    """Build the Flask config mapping from the environment, then apply overrides."""
    instance = Path(os.environ.get("INSTANCE_PATH", instance_path or DEFAULT_INSTANCE))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'directory.sqlite'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://") :]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    secure_cookies = flag("SECURE_COOKIES", os.environ.get("SECURE_COOKIES"), default=True)
    config: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        # Pool and lock waits (directory/database.py builds the engine options):
        # threads per server process, the longest wait for a PostgreSQL connection
        # (seconds), and how long a SQLite write waits for the lock (milliseconds).
        "WEB_THREADS": os.environ.get("WEB_THREADS", "4"),
        "DB_POOL_TIMEOUT": os.environ.get("DB_POOL_TIMEOUT", "3"),
        "SQLITE_BUSY_TIMEOUT_MS": os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "5000"),
        "SEARCH_BACKEND": os.environ.get("SEARCH_BACKEND", "whoosh"),
        "SEARCH_INDEX_DIR": os.environ.get("SEARCH_INDEX_DIR", str(instance / "search-index")),
        "DEMO_DATA": os.environ.get("DEMO_DATA", ""),
        "SITE_NAME": os.environ.get("SITE_NAME", ""),
        # The address people reach the site at (https://directory.example.org): every
        # mailed link starts with it. Required unless testing or debugging.
        "SITE_URL": os.environ.get("SITE_URL", ""),
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
        "MAIL_SMTP_PORT": os.environ.get("MAIL_SMTP_PORT", ""),
        "MAIL_SMTP_USER": os.environ.get("MAIL_SMTP_USER", ""),
        "MAIL_SMTP_PASSWORD": os.environ.get("MAIL_SMTP_PASSWORD", ""),
        "MAIL_SMTP_STARTTLS": os.environ.get("MAIL_SMTP_STARTTLS", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", ""),
        "MAIL_OUTBOX_DIR": os.environ.get("MAIL_OUTBOX_DIR", ""),
        # Rate-limit counters: "database" (default) or redis://host:port/db, shared by
        # every app server; keys start with the prefix (for a Redis shared with others).
        "RATE_LIMIT_STORAGE": os.environ.get("RATE_LIMIT_STORAGE", "database"),
        "RATE_LIMIT_KEY_PREFIX": os.environ.get("RATE_LIMIT_KEY_PREFIX", "throttle:"),
        # Reverse proxies in front of the app whose X-Forwarded-For / -Proto to trust
        # (werkzeug's ProxyFix); 0 (default) trusts none: the client is the peer.
        "TRUSTED_PROXIES": os.environ.get("TRUSTED_PROXIES", "0"),
        "PAGE_CACHE_MB": os.environ.get("PAGE_CACHE_MB", "16"),
        "PAGE_CACHE_SECONDS": os.environ.get("PAGE_CACHE_SECONDS", "60"),
        # Host names this site answers to (comma-separated); any other Host header gets
        # a 400. Mailed links never use the Host header (they start with SITE_URL), but
        # pages' own absolute links (the API's, structured data) do, so production
        # should list its names. Unset: any host.
        "TRUSTED_HOSTS": _hosts(os.environ.get("TRUSTED_HOSTS")),
        # Map images: empty (the default) loads none, so no page ever contacts another
        # server; the CSP's img-src allows exactly the origin(s) of this template.
        "MAP_TILE_URL": os.environ.get("MAP_TILE_URL", ""),
        "MAP_TILE_ATTRIBUTION": os.environ.get("MAP_TILE_ATTRIBUTION", "").strip(),
        # Days an editor's check of a credential holds before it is due again.
        "CREDENTIAL_CHECK_DAYS": os.environ.get("CREDENTIAL_CHECK_DAYS", "365"),
    }
    config.update(overrides)
    config["SITE_NAME"] = site_name(config.get("SITE_NAME"))
    config["DEMO_DATA"] = flag("DEMO_DATA", config.get("DEMO_DATA"), default=True)
    config["MAIL_SMTP_PORT"] = number(
        "MAIL_SMTP_PORT", config.get("MAIL_SMTP_PORT"), 1, 65_535, default=587
    )
    config["MAIL_SMTP_STARTTLS"] = flag(
        "MAIL_SMTP_STARTTLS", config.get("MAIL_SMTP_STARTTLS"), default=True
    )
    config["MAP_TILE_URL"] = tile_url(config.get("MAP_TILE_URL"))
    config["RATE_LIMIT_STORAGE"] = rate_limit_storage(config.get("RATE_LIMIT_STORAGE"))
    config["TRUSTED_PROXIES"] = trusted_proxies(config.get("TRUSTED_PROXIES"))
    config["SITE_URL"] = _site_url_or_stand_in(config)
    config["WEB_THREADS"] = web_threads(config.get("WEB_THREADS"))
    config["DB_POOL_TIMEOUT"] = number("DB_POOL_TIMEOUT", config.get("DB_POOL_TIMEOUT"), 1, 60)
    config["SQLITE_BUSY_TIMEOUT_MS"] = number(
        "SQLITE_BUSY_TIMEOUT_MS", config.get("SQLITE_BUSY_TIMEOUT_MS"), 0, 60_000
    )
    config["PAGE_CACHE_MB"] = number("PAGE_CACHE_MB", config.get("PAGE_CACHE_MB"), 0, 4096)
    config["PAGE_CACHE_SECONDS"] = number(
        "PAGE_CACHE_SECONDS", config.get("PAGE_CACHE_SECONDS"), 1, 86_400
    )
    config["CREDENTIAL_CHECK_DAYS"] = number(
        "CREDENTIAL_CHECK_DAYS", config.get("CREDENTIAL_CHECK_DAYS"), 1, 3650
    )
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(instance)
    config["INSTANCE_DIR"] = str(instance)
    return config
