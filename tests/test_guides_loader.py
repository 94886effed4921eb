"""The guides' Markdown: what an editor can and cannot publish, and that it ships.

Each test writes a small content folder of its own, breaks one rule and expects the
loader to refuse it by file name; the shipped content is checked by loading it and by
the page tests in test_guides.py.
"""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

import pytest

import directory.guides
from directory.guides.loader import GuideError, Live, guides, load_guides

PROJECT = Path(__file__).resolve().parent.parent
CONTENT = Path(directory.guides.__file__).parent / "content"

COMMON = """\
last_reviewed = 2026-11-25
not_advice = "General information, not medical advice."
not_advice_more = "Talk to a clinician."

[sources]
label = "FDA label"
"""
TREATMENT = """\
+++
summary = "How it is given."
sources = ["label"]

[sections.cost]
search = { modality = "iv" }
search_label = "Compare prices"
+++

## How it is given {#how}

A drip in your arm.

## What it costs {#cost}

{{ live prices }}

Prices are per session.

{{ shared questions }}
"""
CONDITION = """\
+++
summary = "What the evidence says."
sources = ["label"]
+++

## What the evidence says {#evidence}

Small studies.
"""
PAYING = """\
+++
title = "Paying"
summary = "Paying for treatment."
sources = ["label"]
+++

## Which treatments clinics bill to insurance {#billed}

{{ live insurance-by-treatment }}
"""
QUESTIONS = """\
+++
[sections.questions]
see_also = ["paying"]
+++

## Questions to ask a clinic {#questions}

- Who oversees my treatment?
- What does a course cost?
"""


def write_content(root: Path, **changes: str) -> Path:
    """A minimal valid content folder at `root`; `changes` replace files by path
    (`treatments__iv_md="..."` writes treatments/iv.md)."""
    files = {
        "_common.toml": COMMON,
        "treatments/iv.md": TREATMENT,
        "conditions/ptsd.md": CONDITION,
        "paying.md": PAYING,
        "_shared/questions.md": QUESTIONS,
    }
    for key, text in changes.items():
        files[key.replace("__", "/").replace("_md", ".md")] = text
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def ptsd_saying(root: Path, body: str) -> Path:
    """`write_content` with `body` in place of the condition page's one paragraph."""
    return write_content(root, conditions__ptsd_md=CONDITION.replace("Small studies.", body))


def refused(root: Path, match: str) -> None:
    with pytest.raises(GuideError, match=match):
        load_guides(root)


# --- the shipped content -------------------------------------------------------------


def test_shipped_content_loads_once_per_process():
    assert guides() is guides()
    shipped = guides()
    assert list(shipped.modality) == ["iv", "im", "spravato", "sublingual"]
    assert shipped.condition["suicidal-ideation"].crisis_first
    assert shipped.last_reviewed.isoformat() == "2026-11-25"


def test_shipped_markdown_is_all_package_data():
    """Every content file matches a package-data glob, so a built wheel carries it
    (setuptools expands these globs with `glob`, relative to the package folder)."""
    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["directory.guides"]
    package = CONTENT.parent
    shipped = {
        Path(match) for pattern in patterns for match in glob.glob(pattern, root_dir=package)
    }
    on_disk = {path.relative_to(package) for path in CONTENT.rglob("*") if path.is_file()}
    assert on_disk and on_disk <= shipped, sorted(on_disk - shipped)


# --- what a valid file becomes -------------------------------------------------------


def test_sections_parts_and_shared_text(tmp_path):
    loaded = load_guides(write_content(tmp_path))
    iv = loaded.modality["iv"]
    assert [s.id for s in iv.sections] == ["how", "cost", "questions"]
    cost = iv.sections[1]
    assert cost.heading == "What it costs"
    assert cost.parts[0] == Live("prices")
    assert cost.parts[1] == "<p>Prices are per session.</p>\n"
    assert cost.search == {"modality": "iv"} and cost.search_label == "Compare prices"
    questions = iv.sections[2]
    assert questions.see_also == ("paying",)
    assert '<ul class="guide-bullets">' in questions.parts[0]
    assert iv.sources == ("FDA label",)
    assert loaded.paying.title == "Paying"


@pytest.mark.parametrize(
    "markup",
    [
        "<script>alert(1)</script>",
        '<div style="color:red" onclick="x()">hi</div>',
        'Text with <img src=x onerror="alert(1)"> inline',
        "<!-- a comment -->",
    ],
)
def test_raw_html_is_shown_as_text(tmp_path, markup):
    html = "".join(load_guides(ptsd_saying(tmp_path, markup)).condition["ptsd"].sections[0].parts)
    assert "<" not in html.removeprefix("<p>").removesuffix("</p>\n")
    assert "&lt;" in html


def test_links_on_this_site_are_allowed(tmp_path):
    section = load_guides(ptsd_saying(tmp_path, "See [paying](/guides/paying-for-treatment)."))
    assert (
        '<a href="/guides/paying-for-treatment">' in section.condition["ptsd"].sections[0].parts[0]
    )


@pytest.mark.parametrize(
    "text",
    [
        "[off site](https://example.com)",
        "[protocol-relative](//example.com/x)",
        "<https://example.com>",
        "[relative](guides/x)",
    ],
)
def test_other_links_and_images_are_refused(tmp_path, text):
    refused(ptsd_saying(tmp_path, text), "conditions/ptsd.md.*links")


def test_script_links_are_not_links(tmp_path):
    """markdown-it itself refuses javascript: and data: URLs: the text shows as typed."""
    loaded = load_guides(ptsd_saying(tmp_path, "[a](javascript:alert(1)) [b](data:text/html,x)"))
    html = loaded.condition["ptsd"].sections[0].parts[0]
    assert "<a" not in html and "[a](javascript:alert(1))" in html


def test_images_are_refused(tmp_path):
    refused(ptsd_saying(tmp_path, "![a chart](/static/chart.png)"), "ptsd.md.*images")


# --- what a file may not do ----------------------------------------------------------


@pytest.mark.parametrize(
    ("treatment", "match"),
    [
        (TREATMENT.replace("{{ live prices }}", ""), "live slots"),
        (
            TREATMENT.replace("{{ live prices }}", "{{ live prices }}\n\n{{ live prices }}"),
            "live slots",
        ),
        (TREATMENT.replace("{{ live prices }}", "{{ live price }}"), "live slots"),
        (TREATMENT.replace("{{ live prices }}", "{{ live Prices }}"), "not allowed here"),
        (TREATMENT.replace("{{ live prices }}", "{{live}}"), "not allowed here"),
        (TREATMENT.replace("+++\nsummary", '+++\norder = "1"\nsummary', 1), "order"),
        (TREATMENT.replace("summary =", "sumary ="), "unknown key"),
        (TREATMENT.replace('sources = ["label"]', 'sources = ["nobody"]'), "sources"),
        (TREATMENT.replace("search_label", "search_lable"), "unknown key"),
        (TREATMENT.replace('search_label = "Compare prices"\n', ""), "search_label"),
        (TREATMENT.replace("{#cost}", "{#how}"), "used twice"),
        (TREATMENT.replace("{#cost}", "{#sources}"), "reserved"),
        (TREATMENT.replace("[sections.cost]", "[sections.price]"), "missing sections"),
        (TREATMENT.replace("{#how}", ""), "is not a '## Heading"),
        (TREATMENT.replace("## How it is given {#how}\n", ""), "before the first"),
        (TREATMENT.replace("A drip in your arm.", "# A second title"), "is not a '## Heading"),
        (TREATMENT.replace("A drip in your arm.", "#### Too deep"), "only ### headings"),
        (TREATMENT.replace("A drip in your arm.", "Setext\n---"), "only ### headings"),
        (TREATMENT.replace("{{ shared questions }}", "{{ shared nothing }}"), "_shared/nothing"),
        (TREATMENT.replace("+++\nsummary", "+++\nsummary = = "), "not valid TOML"),
        (TREATMENT.split("+++\n", 2)[2], "front matter"),
    ],
)
def test_broken_treatment_guides_are_refused(tmp_path, treatment, match):
    refused(write_content(tmp_path, treatments__iv_md=treatment), f"treatments/iv.md.*{match}")


def test_shared_files_cannot_include_others(tmp_path):
    questions = QUESTIONS + "\n{{ shared questions }}\n"
    root = write_content(tmp_path, _shared__questions_md=questions)
    refused(root, "treatments/iv.md #questions.*not allowed here")


def test_a_paying_guide_without_its_table_is_refused(tmp_path):
    paying = PAYING.replace("{{ live insurance-by-treatment }}", "Words only.")
    refused(write_content(tmp_path, paying_md=paying), "paying.md.*insurance-by-treatment")


def test_files_that_are_not_guides_are_refused(tmp_path):
    root = write_content(tmp_path)
    (root / "treatments" / "IV Notes.txt").write_text("scratch", encoding="utf-8")
    refused(root, r"treatments/IV Notes.txt: expected <code>\.md")


def test_review_date_must_be_a_date(tmp_path):
    common = COMMON.replace("2026-11-25", '"November 2026"')
    refused(write_content(tmp_path, **{"_common.toml": common}), "last_reviewed")
