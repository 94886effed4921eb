"""Layout measurements the browser tests share."""

from __future__ import annotations

from playwright.sync_api import Page

_MEASURE = "Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling),
    once its layout has settled: a page still laying out on a loaded machine may be
    wider for a moment (seen once in ~10 runs), a page that does not fit stays so."""
    # Polled from Python: wait_for_function with a string needs eval, which the CSP
    # forbids on these pages.
    for _ in range(30):
        if page.evaluate(_MEASURE) == 0:
            return 0
        page.wait_for_timeout(100)
    return page.evaluate(_MEASURE)
