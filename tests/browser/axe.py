"""axe-core in a page: our copy under static/vendor/ (`make static/vendor/.stamp`),
loaded from the page's own origin, so the CSP allows it.

`violations` names each WCAG 2.1 A/AA failure with the first few elements it hit;
the `axe_available` fixture (conftest.py) skips, or fails in CI, without the file.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page: Page) -> list[str]:
    """The page's WCAG 2.1 A/AA violations, in words (empty: none)."""
    page.add_script_tag(url="/static/vendor/axe.min.js")
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in result["violations"]
    ]
