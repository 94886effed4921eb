"""Take the README's screenshots from a running site (`make run`), in headless Chromium.

    .venv/bin/python docs/screenshots/take.py [http://127.0.0.1:5000]

Phone shots are 360x800 (what a patient sees before scrolling), desktop 1280x900.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
PHONE = {"width": 360, "height": 800}
DESKTOP = {"width": 1280, "height": 900}


def main(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")

        def shot(name: str, path: str, viewport: dict, then=None) -> None:
            page = browser.new_page(viewport=viewport)
            page.goto(base + path)
            if then:
                then(page)
            page.screenshot(path=str(HERE / f"{name}.png"))
            page.close()

        def open_map(page) -> None:
            page.get_by_role("button", name="Show map").click()
            page.locator(".leaflet-marker-icon").first.wait_for()
            page.wait_for_timeout(800)

        results = "/search?q=PTSD&where=Austin%2C+TX"
        shot("results-phone", results, PHONE)
        shot("results-desktop", results, DESKTOP)
        shot("typo-phone", "/search?q=depresion&where=Denver%2C+CO", PHONE)
        shot("map-phone", "/search?where=Phoenix%2C+AZ", PHONE, open_map)
        slugs = [
            r["slug"]
            for r in browser.new_page()
            .request.get(base + "/api/v1/search?where=Austin%2C+TX&per_page=3")
            .json()["results"]
        ]
        shot("compare-desktop", "/compare?" + "&".join(f"c={s}" for s in slugs), DESKTOP)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000")
