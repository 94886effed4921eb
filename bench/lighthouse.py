"""Lighthouse scores (mobile) for the pages patients use: home, results, a clinic page,
a comparison of clinics.

    make lighthouse                                   # = the line below, after `npm ci`
    .venv/bin/python bench/lighthouse.py              # serve a fresh demo app on loopback
    .venv/bin/python bench/lighthouse.py --url http://127.0.0.1:5000   # a running site

Without --url the app is built in a temporary folder (migrations, vocabularies, the
demo clinics, a Whoosh index) and served by werkzeug on 127.0.0.1:<free port> in
this process; nothing leaves the machine. Lighthouse comes from node_modules
(package-lock.json) and drives Debian's Chromium (CHROME_PATH, default
/usr/bin/chromium) headless, with its default mobile settings (emulated phone,
simulated slow 4G and CPU slowdown). Prints the four category scores per page and
the audits that cost points; the JSON reports go to bench/results/lighthouse/.
Exit status 1 when a score is below its target.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import quote, urlencode
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIGHTHOUSE = ROOT / "node_modules" / "lighthouse" / "cli" / "index.js"
RESULTS = ROOT / "bench" / "results" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 95, "seo": 95}
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
RESULTS_PATH = "/search?where=Austin%2C+TX&q=PTSD"
# Demo clinics are fictional and say noindex, which Lighthouse's SEO score counts
# against them; the served site therefore also holds one listing published the way
# real ones are (a clinic submits it, an editor approves it), and that is the clinic
# page measured. The "seo*" column shows SEO without `is-crawlable` for reference.
REAL_LISTING_SLUG = "lighthouse-measured-clinic-austin"


@contextmanager
def demo_site() -> Iterator[str]:
    """A fresh app with the demo clinics, served on loopback; yields its base URL."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from directory import create_app
    from directory.listings.demo import generate_demo_records, load_demo
    from directory.listings.vocabulary import load_vocabularies
    from directory.search import sync

    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp:
        workdir = Path(tmp)
        app = create_app(
            {
                "SECRET_KEY": "lighthouse-bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite'}",
                "SEARCH_BACKEND": "whoosh",
                "SEARCH_INDEX_DIR": str(workdir / "index"),
                "MAIL_OUTBOX_DIR": str(workdir / "outbox"),
                "MAIL_SMTP_HOST": "",
                "SESSION_COOKIE_SECURE": False,
                "SITE_URL": "http://127.0.0.1",  # the served address, once the port is known
            },
            instance_path=workdir,
        )
        with app.app_context(), app.test_request_context():
            upgrade()
            load_vocabularies()
            records = generate_demo_records()
            load_demo(records)
            sync.rebuild()
            _publish_real_listing(records)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        app.config["SITE_URL"] = f"http://127.0.0.1:{server.server_port}"
        try:
            yield app.config["SITE_URL"]
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


def _publish_real_listing(records: list[dict]) -> None:
    """One non-demo listing in Austin, through the same services a clinic and an
    editor use (submit, approve), so its page is what a real listing's page is."""
    from directory.account.services import create_user
    from directory.listings.decisions import approve
    from directory.listings.submissions import submit_new

    austin = next(r for r in records if r.get("city") == "Austin" and r.get("state") == "TX")
    record = {k: v for k, v in austin.items() if k not in ("slug", "status", "is_demo")}
    record["name"] = "Lighthouse Measured Clinic"
    owner = create_user("owner@measured.example", "a long bench passphrase", verified=True)
    editor = create_user(
        "editor@measured.example", "a long bench passphrase", "editor", verified=True
    )
    approve(editor, submit_new(owner, record))


def clinic_path(base: str, own_site: bool) -> str:
    """The real listing on our own demo site; else the first clinic of the results."""
    if own_site:
        return "/clinics/" + REAL_LISTING_SLUG
    with urlopen(base + "/api/v1" + RESULTS_PATH, timeout=30) as response:
        results = json.load(response)["results"]
    return "/clinics/" + quote(results[0]["slug"])


def compare_path(base: str, own_site: bool) -> str:
    """Three clinics of the results side by side (the real listing first on our own site)."""
    with urlopen(base + "/api/v1" + RESULTS_PATH, timeout=30) as response:
        slugs = [result["slug"] for result in json.load(response)["results"]]
    others = [slug for slug in slugs if slug != REAL_LISTING_SLUG]
    chosen = ([REAL_LISTING_SLUG] if own_site else []) + others
    return "/compare?" + urlencode([("c", slug) for slug in chosen[:3]])


def run_lighthouse(url: str, name: str, chrome: str) -> dict:
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = RESULTS / f"{name}.json"
    command = [
        shutil.which("node") or "node",
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={report}",
        "--quiet",
        f"--chrome-flags={CHROME_FLAGS}",
        "--only-categories=" + ",".join(CATEGORIES),
    ]
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": chrome})
    return json.loads(report.read_text())


def lost_points(report: dict, category: str) -> list[str]:
    """Audits of a category that scored below 1, heaviest first."""
    audits = report["audits"]
    refs = report["categories"][category]["auditRefs"]
    lost = []
    for ref in sorted(refs, key=lambda r: -r["weight"]):
        audit = audits[ref["id"]]
        if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
            value = audit.get("displayValue") or ""
            lost.append(f"{ref['id']} ({audit['score']:.2f}{', ' + value if value else ''})")
    return lost


def seo_without_crawlable(report: dict) -> int:
    """SEO as if `is-crawlable` were not scored: demo listings say
    noindex on purpose (demo clinics are fictional).
    """
    refs = [r for r in report["categories"]["seo"]["auditRefs"] if r["id"] != "is-crawlable"]
    scored = [(r["weight"], report["audits"][r["id"]]["score"]) for r in refs if r["weight"]]
    scored = [(w, s) for w, s in scored if s is not None]
    return round(100 * sum(w * s for w, s in scored) / sum(w for w, _ in scored))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base URL of a running site (default: serve a demo app)")
    parser.add_argument("--chrome", default=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        sys.exit("lighthouse is not installed: run `make static/vendor/.stamp` (npm ci) first")

    site = nullcontext(args.url.rstrip("/")) if args.url else demo_site()
    with site as base:
        pages = {
            "home": "/",
            "results": RESULTS_PATH,
            "clinic": clinic_path(base, own_site=not args.url),
            "compare": compare_path(base, own_site=not args.url),
        }
        scores: dict[str, dict[str, int]] = {}
        notes: dict[str, list[str]] = {}
        for name, path in pages.items():
            report = run_lighthouse(base + path, name, args.chrome)
            scores[name] = {
                c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES
            }
            scores[name]["seo*"] = seo_without_crawlable(report)
            notes[name] = [
                f"{c}: {', '.join(lost)}" for c in CATEGORIES if (lost := lost_points(report, c))
            ]

    columns = (*CATEGORIES, "seo*")
    print(f"{'page':<9}" + "".join(f"{c:>16}" for c in columns))
    for name, row in scores.items():
        print(f"{name:<9}" + "".join(f"{row[c]:>16}" for c in columns))
    print("targets  " + "".join(f"{'>= ' + str(TARGETS[c]):>16}" for c in CATEGORIES))
    print("(seo*: SEO without is-crawlable, which fails on purpose on demo listings: noindex)")
    for name, path in pages.items():
        print(f"\n{name} ({path})")
        for line in notes[name] or ["nothing lost"]:
            print("  " + line)
    below = [(name, c) for name, row in scores.items() for c in CATEGORIES if row[c] < TARGETS[c]]
    if below:
        print("\nbelow target: " + ", ".join(f"{name} {c}" for name, c in below))
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
