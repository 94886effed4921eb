"""The guides' words, read from Markdown files under `content/` once per process.

Each guide is a Markdown file whose TOML front matter (between `+++` lines) holds what
is not prose: summary, sources, and per-section search links and cross-links. The body
is split into sections at `## Heading {#id}` lines. Two directives, each alone on a line:

- `{{ shared NAME }}` puts in the sections of `_shared/NAME.md` (a text several guides use);
- `{{ live NAME }}` marks where the page template inserts live figures (prices, counts).
  Figures are never written in the content, and the template words them.

Markdown is rendered by markdown-it-py with raw HTML off, so markup typed in a file is
shown as text: content can add words and structure, never tags, styles or scripts.
Links must stay on this site and images are off. Any mistake (an unknown key, a missing
live slot, a source nobody defined) raises `GuideError` naming the file, when the app
starts, not on a patient's request. See content/README.md for the editors' view.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from markdown_it import MarkdownIt
from markupsafe import Markup

from ..slugs import SLUG_PATTERN

FRONT_MATTER = re.compile(r"\A\+\+\+\n(.*?)\n\+\+\+\n", re.DOTALL)
HEADING = re.compile(r"^## (?P<heading>.+?) \{#(?P<id>" + SLUG_PATTERN + r")\}$")
DIRECTIVE = re.compile(r"^\{\{ *(?P<kind>shared|live) +(?P<name>[a-z0-9-]+) *\}\}$")
ATX_TOP = re.compile(r"^#{1,2}(?:\s|$)")  # a # or ## heading not in the section form
CODE = re.compile(rf"^{SLUG_PATTERN}$")  # a file name is its guide's URL code

# Folder of each kind of guide, and the live slots its page template fills: each must
# appear exactly once, so a guide cannot silently lose its figures.
FOLDERS = {"modality": "treatments", "condition": "conditions"}
LIVE_SLOTS = {
    "modality": {"prices"},
    "condition": set(),
    "paying": {"insurance-by-treatment"},
}
# Section ids the page templates use themselves (`<id>-title`), so content cannot clash.
RESERVED_IDS = {"listed", "find", "sources", "by-payment", "crisis", "treatments", "conditions"}
FRONT_MATTER_KEYS = {
    "modality": {"order", "summary", "sources", "sections"},
    "condition": {"order", "summary", "sources", "sections", "crisis_first", "extra_help"},
    "paying": {"title", "summary", "sources", "sections"},
    "shared": {"sections"},
}
SECTION_KEYS = {"see_also", "search", "search_label"}


class GuideError(ValueError):
    """A guide file that cannot be published as written; the message names the file."""


@dataclass(frozen=True)
class Live:
    """A place in a section where the page template inserts live figures, by name."""

    name: str


@dataclass(frozen=True)
class Section:
    """One titled part of a guide: rendered Markdown, with live slots between the parts.

    `search` names a filter of the clinic search ({"payment": "superbill"}) that the
    section links to, labelled `search_label`; the template skips it if the code is no
    longer in the vocabulary, so a renamed or removed option never links to an error.
    `see_also` links other guides: "paying", "modality:<code>" or "condition:<code>".
    """

    id: str
    heading: str
    parts: tuple[Markup | Live, ...]
    search: dict[str, str]
    search_label: str
    see_also: tuple[str, ...]


@dataclass(frozen=True)
class Guide:
    """One guide page's words. Display names come from the vocabularies, not from here,
    so an editor's rename of a treatment or condition shows on its guide too."""

    kind: str
    code: str
    order: int
    title: str
    summary: str
    sections: tuple[Section, ...]
    sources: tuple[str, ...]
    crisis_first: bool = False
    extra_help: tuple[str, ...] = ()


@dataclass(frozen=True)
class Guides:
    """Every guide, in index order, and what all guide pages show."""

    modality: dict[str, Guide]
    condition: dict[str, Guide]
    paying: Guide
    last_reviewed: date
    not_advice: str
    not_advice_more: str


def _markdown() -> MarkdownIt:
    """CommonMark with raw HTML shown as text (images are refused in `_render`)."""
    return MarkdownIt("commonmark", {"html": False})


def _render(md: MarkdownIt, text: str, where: str) -> Markup:
    """Render one stretch of a section; reject off-site links and headings that would
    break the page's outline (the page has the h1, sections the h2s)."""
    tokens = md.parse(text)
    for token in tokens:
        if token.type == "heading_open" and token.tag != "h3":
            raise GuideError(f"{where}: only ### headings inside a section, not {token.markup}")
        if token.type == "bullet_list_open":
            token.attrSet("class", "guide-bullets")
        for child in token.children or ():
            if child.type == "image":
                raise GuideError(f"{where}: images are not supported")
            href = str(child.attrGet("href") or "")
            if child.type == "link_open" and not (href.startswith("/") and href[1:2] != "/"):
                raise GuideError(f"{where}: links must stay on this site (/...), not {href!r}")
    return Markup(md.renderer.render(tokens, md.options, {}))


def _split(text: str, where: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a file; front matter is optional only for shared files."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        return tomllib.loads(match.group(1)), text[match.end() :]
    except tomllib.TOMLDecodeError as exc:
        raise GuideError(f"{where}: front matter is not valid TOML ({exc})") from exc


def _check_keys(found: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(found) - allowed
    if unknown:
        raise GuideError(f"{where}: unknown key(s) {sorted(unknown)}; allowed {sorted(allowed)}")


def _str_tuple(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GuideError(f"{where}: {key} must be a list of strings")
    return tuple(value)


class _Reader:
    """Reads one content folder; holds the Markdown parser and the shared files."""

    def __init__(self, root: Traversable) -> None:
        self.root = root
        self.md = _markdown()
        common_file = root / "_common.toml"
        try:
            self.common = tomllib.loads(common_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise GuideError(f"_common.toml: {exc}") from exc
        self.sources: dict[str, str] = self.common.get("sources", {})

    def _read(self, path: str) -> str:
        try:
            return (self.root / path).read_text(encoding="utf-8")
        except OSError as exc:
            raise GuideError(f"{path}: cannot be read ({exc})") from exc

    def _expand(self, body: str, where: str, meta: dict[str, Any]) -> list[str]:
        """Body lines with `{{ shared NAME }}` replaced by that file's body; its section
        settings join `meta`."""
        lines: list[str] = []
        for line in body.splitlines():
            directive = DIRECTIVE.match(line.strip())
            if not directive or directive["kind"] != "shared":
                lines.append(line)
                continue
            path = f"_shared/{directive['name']}.md"
            if not (self.root / path).is_file():
                raise GuideError(f"{where}: {line.strip()} names no file {path}")
            front, shared_body = _split(self._read(path), path)
            _check_keys(front, FRONT_MATTER_KEYS["shared"], path)
            for section_id, settings in front.get("sections", {}).items():
                if section_id in meta:
                    raise GuideError(f"{where}: section {section_id!r} also set in {path}")
                meta[section_id] = settings
            lines.extend(shared_body.splitlines())
        return lines

    def _section(
        self, section_id: str, heading: str, lines: list[str], settings: dict, where: str
    ) -> Section:
        _check_keys(settings, SECTION_KEYS, f"{where} [sections.{section_id}]")
        parts: list[Markup | Live] = []
        chunk: list[str] = []

        def flush() -> None:
            text = "\n".join(chunk).strip()
            if text:
                parts.append(_render(self.md, text, f"{where} #{section_id}"))
            chunk.clear()

        for line in lines:
            directive = DIRECTIVE.match(line.strip())
            if directive and directive["kind"] == "live":
                flush()
                parts.append(Live(directive["name"]))
            elif directive or line.lstrip().startswith("{{"):
                # A shared file's own `shared` line, or a misspelt directive: never print it.
                raise GuideError(f"{where} #{section_id}: {line.strip()!r} is not allowed here")
            else:
                chunk.append(line)
        flush()
        search = settings.get("search", {})
        if not isinstance(search, dict) or not all(isinstance(v, str) for v in search.values()):
            raise GuideError(f"{where} [sections.{section_id}]: search must be a table of codes")
        if bool(search) != bool(settings.get("search_label")):
            raise GuideError(f"{where} [sections.{section_id}]: search needs a search_label")
        return Section(
            id=section_id,
            heading=heading,
            parts=tuple(parts),
            search=dict(search),
            search_label=str(settings.get("search_label", "")),
            see_also=_str_tuple(settings.get("see_also", []), "see_also", where),
        )

    def _sections(self, body: str, meta: dict[str, Any], where: str) -> tuple[Section, ...]:
        """Split the body at `## Heading {#id}` lines into sections."""
        meta = dict(meta)
        found: list[tuple[str, str, list[str]]] = []
        for line in self._expand(body, where, meta):
            heading = HEADING.match(line.rstrip())
            if heading:
                found.append((heading["id"], heading["heading"], []))
            elif ATX_TOP.match(line):
                raise GuideError(f"{where}: {line!r} is not a '## Heading {{#id}}' section line")
            elif found:
                found[-1][2].append(line)
            elif line.strip():
                raise GuideError(f"{where}: text before the first '## Heading {{#id}}' line")
        ids = [section_id for section_id, _, _ in found]
        duplicates = {i for i in ids if ids.count(i) > 1} | (set(ids) & RESERVED_IDS)
        if duplicates:
            raise GuideError(f"{where}: section ids used twice or reserved: {sorted(duplicates)}")
        if set(meta) - set(ids):
            raise GuideError(
                f"{where}: settings for missing sections {sorted(set(meta) - set(ids))}"
            )
        return tuple(self._section(i, h, lines, meta.get(i, {}), where) for i, h, lines in found)

    def guide(self, kind: str, code: str, path: str) -> Guide:
        """One guide file, checked against what its page template needs."""
        front, body = _split(self._read(path), path)
        if not front:
            raise GuideError(f"{path}: needs front matter between +++ lines")
        _check_keys(front, FRONT_MATTER_KEYS[kind], path)
        if not isinstance(front.get("summary"), str) or not front["summary"].strip():
            raise GuideError(f"{path}: summary is required (it is the page's description)")
        sources = _str_tuple(front.get("sources", []), "sources", path)
        unknown = [key for key in sources if key not in self.sources]
        if not sources or unknown:
            raise GuideError(f"{path}: sources must name keys of _common.toml; unknown {unknown}")
        sections = self._sections(body, front.get("sections", {}), path)
        slots = [p.name for s in sections for p in s.parts if isinstance(p, Live)]
        if sorted(slots) != sorted(LIVE_SLOTS[kind]):
            raise GuideError(
                f"{path}: live slots {slots}; a {kind} guide needs each of "
                f"{sorted(LIVE_SLOTS[kind])} exactly once"
            )
        if not isinstance(front.get("order", 0), int):
            raise GuideError(f"{path}: order must be a whole number")
        return Guide(
            kind=kind,
            code=code,
            order=front.get("order", 0),
            title=str(front.get("title", "")),
            summary=front["summary"],
            sections=sections,
            sources=tuple(self.sources[key] for key in sources),
            crisis_first=bool(front.get("crisis_first", False)),
            extra_help=_str_tuple(front.get("extra_help", []), "extra_help", path),
        )

    def folder(self, kind: str) -> dict[str, Guide]:
        """Every guide of a kind, keyed by code (the file name), in `order`."""
        loaded = []
        for entry in (self.root / FOLDERS[kind]).iterdir():
            code, _, ext = entry.name.partition(".")
            if ext != "md" or not CODE.match(code):
                raise GuideError(f"{FOLDERS[kind]}/{entry.name}: expected <code>.md")
            loaded.append(self.guide(kind, code, f"{FOLDERS[kind]}/{entry.name}"))
        loaded.sort(key=lambda guide: (guide.order, guide.code))
        return {guide.code: guide for guide in loaded}


def load_guides(root: Traversable) -> Guides:
    """Read and check every guide under `root` (a content folder); raises GuideError."""
    reader = _Reader(root)
    common = reader.common
    if not isinstance(common.get("last_reviewed"), date):
        raise GuideError("_common.toml: last_reviewed must be a date (2026-11-25)")
    return Guides(
        modality=reader.folder("modality"),
        condition=reader.folder("condition"),
        paying=reader.guide("paying", "paying", "paying.md"),
        last_reviewed=common["last_reviewed"],
        not_advice=str(common.get("not_advice", "")),
        not_advice_more=str(common.get("not_advice_more", "")),
    )


@functools.cache
def guides() -> Guides:
    """The guides shipped with the package, read once per process (restart to see edits)."""
    return load_guides(files(__package__) / "content")
