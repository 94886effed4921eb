"""The ketamine clinic directory: `create_app` wires the pieces together, nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from .config import PROJECT_ROOT, load_config


def create_app(config: dict[str, Any] | None = None, instance_path: Path | None = None) -> Flask:
    """Build an app from environment settings, with `config` overriding them (tests)."""
    settings = load_config(instance_path, **(config or {}))
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_DIR"],
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(settings)
    # The SQLite file, Whoosh index and outbox live here; SQLite cannot make the folder.
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_admin(app)
    register_errorhandlers(app)
    register_commands(app)
    register_security(app)
    register_proxy_fix(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import database, page_cache, search, throttle
    from .extensions import csrf, db, login_manager, migrate

    database.init_app(app)  # db.init_app with the pool and SQLite settings
    migrate.init_app(
        app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    search.init_app(app)
    page_cache.init_app(app)
    throttle.init_app(app)


def register_blueprints(app: Flask) -> None:
    from .account import bp as account_bp
    from .api import bp as api_bp
    from .extensions import csrf
    from .guides import bp as guides_bp
    from .opendata import bp as opendata_bp
    from .public import bp as public_bp
    from .routing import SlugConverter

    app.url_map.converters["slug"] = SlugConverter
    app.register_blueprint(public_bp)
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(guides_bp, url_prefix="/guides")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(opendata_bp, url_prefix="/open-data")
    csrf.exempt(api_bp)  # read-only GET endpoints


def register_admin(app: Flask) -> None:
    from .admin import init_admin

    init_admin(app)


def register_errorhandlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)


def register_security(app: Flask) -> None:
    from .security import register

    register(app)


def register_proxy_fix(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client address and scheme from
    their X-Forwarded-For / X-Forwarded-Proto headers (rate limits count per client).

    The Host header is never taken from X-Forwarded-Host: links in mails are built
    from it, so it stays what the proxy itself sent.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
