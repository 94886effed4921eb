"""gunicorn settings: what `make run` serves with, and production too.

    gunicorn --config gunicorn.conf.py          # from the repository root (wsgi:app)

gunicorn also reads this file by itself when started from the repository root.
Everything a deployment may change comes from the environment:

- HOST, PORT: where to listen (default 127.0.0.1:5000, as `make run`).
- WEB_WORKERS, WEB_THREADS: processes, and threads in each (default 2 x 4 for a
  2-core machine). The app sizes its PostgreSQL pool from WEB_THREADS, so set it
  here and there alike (it is the same variable).
- ACCESS_LOG: empty (default) writes no access log; `-` writes it to stdout, any
  other value is a file. Its lines never hold the client address, the query
  string, the referrer or the user agent: a search URL names health conditions.
"""

from __future__ import annotations

import os

from directory.config import web_threads, web_workers

wsgi_app = "wsgi:app"
bind = [f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '5000'}"]

# Threads rather than processes for concurrency: requests mostly wait on the
# database or the index, and every process holds its own ~200 MB of search tables.
worker_class = "gthread"
workers = web_workers(os.environ.get("WEB_WORKERS"))
threads = web_threads(os.environ.get("WEB_THREADS"))

# Requests are short (searches, forms); mail is sent after the response with a
# 15-second SMTP timeout, and Whoosh waits at most 30 s for its write lock.
timeout = 30
# SIGTERM: stop accepting, let requests in flight finish for up to this long.
graceful_timeout = 30
keepalive = 5

# Import the app once in the master and fork: the gazetteer and start-up objects
# are shared copy-on-write (wsgi.py freezes them out of the GC). create_app opens
# no database connection or index; post_fork below makes sure of it anyway.
preload_app = True

accesslog = os.environ.get("ACCESS_LOG") or None
# Time, method, path without query, status, bytes, duration: nothing that names
# the visitor (%(h)s, X-Forwarded-For) or what they searched for (%(r)s, %(q)s,
# %(f)s referrer).
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"

# The client address and scheme come from the app's TRUSTED_PROXIES setting
# (werkzeug's ProxyFix), one place for both; gunicorn itself trusts no proxy.
forwarded_allow_ips = ""
# gunicorn >= 25.1 opens a control socket at one fixed path per user; two servers
# (a run and a benchmark) would fight over it, and nothing here uses it.
control_socket_disable = True


def post_fork(server, worker) -> None:
    """Give each worker its own database connections: none may cross the fork."""
    from directory.extensions import db
    from wsgi import app

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def post_worker_init(worker) -> None:
    """Before serving: drain the index queue a killed process left, and open the index
    (damage found there starts its repair in this worker, not in the master).

    A database that is down must not stop the worker booting: gunicorn would then
    stop the whole server. Requests answer 503 until it is back, and the first
    request after drains the queue.
    """
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from directory.database import DatabaseUnavailable
    from directory.search.catch_up import startup
    from wsgi import app

    try:
        startup(app)
    except (DatabaseUnavailable, PoolTimeout) as exc:
        reason = getattr(exc, "orig", exc)
        worker.log.warning("Database not available at start (%s): serving 503s", reason)
