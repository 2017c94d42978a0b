"""Project configuration (``_quarto.yml``), front matter, authors.

Quarto merges project metadata (``_quarto.yml``) under the document's front
matter; the pip-only renderer does the same for the document-level keys. The
author/affiliation forms accepted are Quarto's (quarto.org, "Authors &
Affiliations"): ``author``/``authors`` as strings or objects with ``name``
(string or ``given``/``family``/``literal``), ``affiliations``/``affiliation``
(strings, objects, or ``ref:`` to a top-level ``affiliations`` entry with an
``id``), ``corresponding``, ``equal-contributor``, ``email``, ``orcid``
(top level or under ``attributes``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import RenderError

# Keys of _quarto.yml that configure the project or the renderers, not the
# document (Quarto's project schema: project, manuscript, website, book; plus
# format/execute which the renderer reads separately).
NON_DOCUMENT_KEYS = {"project", "manuscript", "website", "book", "format", "execute",
                     "profile", "engine", "jupyter", "filters"}


@dataclass
class ProjectConfig:
    root: Path
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def article(self) -> Path:
        name = (self.raw.get("manuscript") or {}).get("article")
        if name:
            return self.root / name
        for cand in ("index.qmd", "index.ipynb"):
            if (self.root / cand).exists():
                return self.root / cand
        return self.root / "index.qmd"

    def format_options(self, name: str) -> dict[str, Any]:
        fmt = self.raw.get("format") or {}
        value = fmt.get(name) if isinstance(fmt, dict) else None
        return value if isinstance(value, dict) else {}

    def document_defaults(self) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in self.raw.items() if k not in NON_DOCUMENT_KEYS}

    @property
    def execute(self) -> dict[str, Any]:
        return dict(self.raw.get("execute") or {})


def load_project(root: Path) -> ProjectConfig:
    path = root / "_quarto.yml"
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise RenderError(f"{path}: invalid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise RenderError(f"{path}: expected a mapping at the top level")
    return ProjectConfig(root=root, raw=raw)


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str, int]:
    """Return (front matter, body, number of lines the front matter took)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text, 0
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            block = "".join(lines[1:i])
            try:
                meta = yaml.safe_load(block) or {}
            except yaml.YAMLError as exc:
                raise RenderError(f"{source}: invalid YAML front matter: {exc}") from exc
            if not isinstance(meta, dict):
                raise RenderError(f"{source}: front matter must be a mapping")
            return meta, "".join(lines[i + 1:]), i + 1
    raise RenderError(f"{source}: front matter starts with '---' but never ends")


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# --------------------------------------------------------------------------
# authors & affiliations
# --------------------------------------------------------------------------

@dataclass
class Affiliation:
    id: str
    text: str
    number: int = 0


@dataclass
class Author:
    name: str
    affiliations: list[str] = field(default_factory=list)  # affiliation ids
    corresponding: bool = False
    equal_contributor: bool = False
    email: str | None = None
    orcid: str | None = None


def _aff_text(a: dict[str, Any]) -> str:
    parts = [a.get("department"), a.get("name"), a.get("address"), a.get("city"),
             a.get("region") or a.get("state"), a.get("postal-code"), a.get("country")]
    return ", ".join(str(p) for p in parts if p)


def _name(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if value.get("literal"):
            return str(value["literal"])
        parts = [value.get("given"), value.get("dropping-particle"),
                 value.get("non-dropping-particle"), value.get("family")]
        return " ".join(str(p) for p in parts if p)
    raise RenderError(f"author name must be a string or a name object, not {value!r}")


def normalize_authors(meta: dict[str, Any]) -> tuple[list[Author], list[Affiliation]]:
    """Quarto-style author/affiliation metadata to two flat lists.

    Affiliations are numbered in order of first use by the authors.
    """
    raw_authors = meta.get("author", meta.get("authors"))
    if raw_authors is None:
        return [], []
    if not isinstance(raw_authors, list):
        raw_authors = [raw_authors]

    declared: dict[str, Affiliation] = {}
    order: list[str] = []
    for i, a in enumerate(meta.get("affiliations") or []):
        if isinstance(a, str):
            a = {"name": a}
        aid = str(a.get("id") or f"aff-{i + 1}")
        declared[aid] = Affiliation(id=aid, text=_aff_text(a))
        order.append(aid)

    used: list[str] = []
    inline_counter = 0
    authors: list[Author] = []
    for entry in raw_authors:
        if isinstance(entry, str):
            authors.append(Author(name=entry))
            continue
        if not isinstance(entry, dict):
            raise RenderError(f"author entry must be a string or a mapping, not {entry!r}")
        attrs = entry.get("attributes") or {}
        author = Author(
            name=_name(entry.get("name", "")),
            corresponding=bool(entry.get("corresponding", attrs.get("corresponding", False))),
            equal_contributor=bool(entry.get("equal-contributor", attrs.get("equal-contributor", False))),
            email=entry.get("email"),
            orcid=entry.get("orcid"),
        )
        affs = entry.get("affiliations", entry.get("affiliation")) or []
        if not isinstance(affs, list):
            affs = [affs]
        for a in affs:
            if isinstance(a, dict) and "ref" in a:
                ref = str(a["ref"])
                if ref not in declared:
                    raise RenderError(f"author {author.name!r}: affiliation ref {ref!r} is not "
                                      "declared under the top-level 'affiliations'")
                aid = ref
            else:
                if isinstance(a, str):
                    a = {"name": a}
                aid = str(a.get("id") or "")
                if not aid:
                    inline_counter += 1
                    aid = f"inline-{inline_counter}"
                if aid not in declared:
                    declared[aid] = Affiliation(id=aid, text=_aff_text(a))
                    order.append(aid)
            author.affiliations.append(aid)
            if aid not in used:
                used.append(aid)
        authors.append(author)

    numbered = []
    for n, aid in enumerate(used, start=1):
        aff = declared[aid]
        aff.number = n
        numbered.append(aff)
    return authors, numbered


def author_marks(author: Author, affs: list[Affiliation]) -> str:
    """Superscript marks: affiliation numbers, then # (equal) and * (corresponding)."""
    by_id = {a.id: a for a in affs}
    marks = ",".join(str(by_id[a].number) for a in author.affiliations if a in by_id)
    if author.equal_contributor:
        marks += "#"
    if author.corresponding:
        marks += "*"
    return marks
