"""Figures, tables and supplementary items: embedding, numbering, references.

Conventions (all Quarto-valid, quarto.org "Cross References", "Cross-Reference
Div Syntax", "Custom Float Cross-Reference Types", "Embedding from Other
Documents"):

* A notebook cell labelled ``fig-…`` with ``#| fig-cap:`` (or ``tbl-…`` with
  ``#| tbl-cap:``), embedded with ``{{< embed nb.ipynb#fig-… >}}``, is Figure N
  (Table N); its label is the anchor, ``@fig-…`` refers to it.
* Markdown floats: ``![Caption](file.png){#fig-x}``, a pipe table with
  ``: Caption {#tbl-x}``, or a fenced div ``::: {#fig-x}`` whose last
  paragraph is the caption.
* Custom kinds declared under ``crossref: custom:`` in ``_quarto.yml`` (here
  ``suppfig`` → "Supplementary Figure N", ``supptbl`` → "Supplementary
  Table N") have their own counters. Quarto only recognises them on fenced
  divs, so a supplementary item from a notebook is written as::

      ::: {#suppfig-love-plot}
      {{< embed build/notebooks/02_matching.ipynb#love-plot >}}

      Love plot of absolute standardized mean differences.
      :::

  (the cell inside carries a plain label, not ``fig-``/``suppfig-``).
* ``@fig-x``, ``[@fig-x]``, ``@Fig-x`` → "Figure N" linked to the float;
  ``-@fig-x`` → "N". Anything that looks like a cross-reference but names no
  float is an error, as is a citation key missing from the bibliography.
"""
from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import pandoc_ast as pa
from .errors import RenderError
from .notebooks import EmbeddedCell, embedded_cell, png_size_inches, svg_size_inches

# Quarto's reserved cross-reference prefixes (quarto.org, Cross References):
# an @-reference with one of these is a cross-reference, never a citation.
NBSP = "\u00a0"
RESERVED_PREFIXES = ("fig", "tbl", "lst", "tip", "nte", "wrn", "imp", "cau", "thm", "lem",
                     "cor", "prp", "cnj", "def", "exm", "exr", "sol", "rem", "alg", "eq", "sec")


@dataclass
class Kind:
    key: str
    caption_prefix: str
    reference_prefix: str
    space: bool = True

    def label(self, prefix: str, number: int) -> str:
        # a no-break space keeps "Figure" and its number on one line
        sep = NBSP if self.space else ""
        return f"{prefix}{sep}{number}"


@dataclass
class FloatInfo:
    id: str
    kind: str
    number: int
    ref_text: str


def crossref_kinds(crossref: Any) -> tuple[dict[str, Kind], str]:
    """Kinds from Quarto's ``crossref`` metadata (built-ins + ``custom``)."""
    cfg = crossref if isinstance(crossref, dict) else {}
    kinds = {
        "fig": Kind("fig", cfg.get("fig-title", "Figure"), cfg.get("fig-prefix", "Figure")),
        "tbl": Kind("tbl", cfg.get("tbl-title", "Table"), cfg.get("tbl-prefix", "Table")),
    }
    for i, c in enumerate(cfg.get("custom") or []):
        missing = {"kind", "key", "reference-prefix"} - set(c)
        if missing:
            raise RenderError(f"crossref.custom[{i}] lacks {sorted(missing)} (Quarto requires "
                              "kind, key and reference-prefix)")
        if c["kind"] != "float":
            raise RenderError(f"crossref.custom[{i}]: kind must be 'float'")
        key = str(c["key"])
        ref = str(c["reference-prefix"])
        kinds[key] = Kind(key, str(c.get("caption-prefix", ref)), ref,
                          bool(c.get("space-before-numbering", True)))
    return kinds, str(cfg.get("title-delim", ":"))


def _kind_of(ident: str, kinds: dict[str, Kind]) -> str | None:
    m = re.match(r"^([A-Za-z]+)-", ident or "")
    if m and m.group(1) in kinds:
        return m.group(1)
    return None


@dataclass
class Media:
    """Image variants of one output; the target picks one."""

    png: str | None = None
    svg: str | None = None
    pdf: str | None = None
    jpeg: str | None = None
    width_in: float | None = None
    height_in: float | None = None


class FloatBuilder:
    def __init__(self, kinds: dict[str, Kind], title_delim: str, media_dir: Path,
                 media_prefix: str, notebook_href: Callable[[EmbeddedCell], str],
                 map_notebook_path: Callable[[Path], Path]) -> None:
        self.kinds = kinds
        self.delim = title_delim
        self.media_dir = media_dir
        self.media_prefix = media_prefix
        self.notebook_href = notebook_href
        self.map_path = map_notebook_path
        self.counters: dict[str, int] = {}
        self.floats: dict[str, FloatInfo] = {}
        self.embedded: list[EmbeddedCell] = []

    # ------------------------------------------------------------------ API
    def process(self, blocks: list[pa.Node]) -> list[pa.Node]:
        return self._blocks(blocks, inside_float=False)

    # ---------------------------------------------------------- traversal
    def _blocks(self, blocks: list[pa.Node], inside_float: bool) -> list[pa.Node]:
        out: list[pa.Node] = []
        for b in blocks:
            out.extend(self._block(b, inside_float))
        return out

    def _block(self, b: pa.Node, inside_float: bool) -> list[pa.Node]:
        t = b.get("t")
        a = pa.get_attr(b)
        ident = a[0] if a else ""
        kind = _kind_of(ident, self.kinds)

        if t == "Div" and "hcc-embed" in a[1]:
            return self._embed(b, inside_float)
        if t == "Div" and kind:
            if inside_float:
                raise RenderError(f"float #{ident} is nested inside another float")
            return self._div_float(b, kind)
        if t == "Figure" and kind:
            if inside_float:
                raise RenderError(f"float #{ident} is nested inside another float")
            caption = _caption_inlines(b["c"][1])
            content = self._blocks(b["c"][2], inside_float=True)
            return self._make_float(kind, ident, caption, content, None)
        if t == "Table" and kind:
            if inside_float:
                raise RenderError(f"table #{ident} is nested inside another float")
            caption = _caption_inlines(b["c"][1])
            b["c"][0] = pa.attr()
            return self._make_float(kind, ident, caption, [b], None)
        if t == "Div" and ident and re.match(r"^[A-Za-z]+-", ident) \
                and ident.split("-")[0] in RESERVED_PREFIXES and ident.split("-")[0] not in ("sec",):
            raise RenderError(f"#{ident}: '{ident.split('-')[0]}-' floats are not supported "
                              f"(known kinds: {', '.join(sorted(self.kinds))})")
        # descend into containers
        t_children = pa.child_block_lists(b)
        for lst in t_children:
            lst[:] = self._blocks(lst, inside_float)
        return [b]

    # ------------------------------------------------------------- floats
    def _div_float(self, div: pa.Node, kind: str) -> list[pa.Node]:
        ident = div["c"][0][0]
        inner = list(div["c"][1])
        caption: list[pa.Node] = []
        if len(inner) >= 2 and inner[-1].get("t") == "Para":
            caption = inner.pop()["c"]
        sources: list[EmbeddedCell] = []
        content: list[pa.Node] = []
        for blk in inner:
            if blk.get("t") == "Div" and "hcc-embed" in blk["c"][0][1]:
                cell = self._load_embed(blk)
                if _kind_of(cell.label, self.kinds):
                    raise RenderError(
                        f"#{ident}: the embedded cell '{cell.label}' is itself a "
                        f"'{_kind_of(cell.label, self.kinds)}-' float; give the cell a plain "
                        "label (e.g. without 'fig-'/'tbl-') when it sits inside a float div")
                if not caption:
                    caption = self._cell_caption(cell, kind, required=False)
                content.extend(self._cell_blocks(cell, _echo(blk)))
                sources.append(cell)
            else:
                content.extend(self._blocks([blk], inside_float=True))
        if not caption:
            raise RenderError(f"#{ident} has no caption (the last paragraph of a float div is "
                              "its caption)")
        return self._make_float(kind, ident, caption, content, sources)

    def _embed(self, placeholder: pa.Node, inside_float: bool) -> list[pa.Node]:
        cell = self._load_embed(placeholder)
        kind = _kind_of(cell.label, self.kinds)
        content = self._cell_blocks(cell, _echo(placeholder))
        if kind and not inside_float:
            if kind not in ("fig", "tbl"):
                raise RenderError(
                    f"{_where(placeholder)}: cell '{cell.label}' uses the custom kind '{kind}' as "
                    "a cell label; Quarto only numbers custom kinds on fenced divs. Wrap the "
                    f"embed in '::: {{#{cell.label}}}' with the caption as the div's last "
                    "paragraph, and give the cell a plain label.")
            caption = self._cell_caption(cell, kind, required=True, where=_where(placeholder))
            return self._make_float(kind, cell.label, caption, content, [cell])
        return content + [self._source_note([cell])]

    def _load_embed(self, placeholder: pa.Node) -> EmbeddedCell:
        kv = pa.attr_kv(placeholder["c"][0])
        nb = self.map_path(Path(kv["notebook"]))
        cell = embedded_cell(nb, kv["cell"], kv.get("where", ""))
        self.embedded.append(cell)
        return cell

    def _cell_caption(self, cell: EmbeddedCell, kind: str, *, required: bool,
                      where: str = "") -> list[pa.Node]:
        cap = cell.options.get(f"{kind}-cap")
        if cap is None and kind not in ("fig", "tbl"):
            cap = cell.options.get("fig-cap") or cell.options.get("tbl-cap")
        if cap is None:
            if required:
                raise RenderError(f"{where}: cell '{cell.label}' in {cell.notebook.name} has no "
                                  f"'#| {kind}-cap:' caption")
            return []
        if isinstance(cap, list):
            cap = " ".join(str(c) for c in cap)
        blocks = pa.read_blocks(str(cap), "markdown")
        return blocks[0]["c"] if blocks and blocks[0]["t"] in ("Para", "Plain") else pa.text_inlines(str(cap))

    def _make_float(self, kind: str, ident: str, caption: list[pa.Node], content: list[pa.Node],
                    sources: list[EmbeddedCell] | None) -> list[pa.Node]:
        if ident in self.floats:
            raise RenderError(f"duplicate float label #{ident}")
        if not caption:
            raise RenderError(f"#{ident} has no caption")
        k = self.kinds[kind]
        n = self.counters.get(kind, 0) + 1
        self.counters[kind] = n
        self.floats[ident] = FloatInfo(ident, kind, n, k.label(k.reference_prefix, n))
        label = k.label(k.caption_prefix, n) + self.delim
        cap = [pa.Strong(pa.text_inlines(label)), pa.Space(), *caption]

        content = [c for c in content if not (c.get("t") == "Plain" and not c["c"])]
        tables = [c for c in content if c.get("t") == "Table"]
        if len(content) == 1 and tables:
            tbl = tables[0]
            tbl["c"][0] = pa.attr(ident, ["float", f"float-{kind}"])
            tbl["c"][1] = [None, [pa.Plain(cap)]]
            node = tbl
        else:
            node = pa.Figure(content, cap, pa.attr(ident, ["float", f"float-{kind}"]))
        out = [node]
        if sources:
            out.append(self._source_note(sources))
        return out

    # ------------------------------------------------------------ outputs
    def _cell_blocks(self, cell: EmbeddedCell, echo: bool) -> list[pa.Node]:
        blocks: list[pa.Node] = []
        if echo:
            blocks.append(pa.CodeBlock(cell.source, pa.attr("", ["python"])))
        for text in cell.streams:
            if text.strip():
                blocks.append(pa.CodeBlock(text.rstrip("\n"), pa.attr("", ["cell-output"])))
        subcaps = cell.options.get("fig-subcap")
        if not isinstance(subcaps, list):
            subcaps = []
        alt = cell.options.get("fig-alt")
        img_index = 0
        for i, out in enumerate(cell.outputs):
            data = out.data
            image_mimes = [m for m in ("image/svg+xml", "image/png", "image/jpeg", "application/pdf")
                           if m in data]
            if "text/html" in data and re.search(r"<table[\s>]", data["text/html"], re.I):
                blocks.extend(_html_table_blocks(data["text/html"], cell))
            elif "text/markdown" in data:
                blocks.extend(pa.read_blocks(data["text/markdown"], "markdown"))
            elif image_mimes:
                media = self._write_media(cell, i, data)
                alt_text = alt[img_index] if isinstance(alt, list) and img_index < len(alt) else alt
                img = pa.Image(pa.text_inlines(str(alt_text)) if alt_text else [],
                               media.png or media.jpeg or media.svg or media.pdf or "",
                               pa.attr("", ["hcc-media"], _media_attrs(media)))
                blocks.append(pa.Plain([img]))
                if img_index < len(subcaps):
                    letter = chr(ord("a") + img_index)
                    blocks.append(pa.Plain([pa.Emph(pa.text_inlines(f"({letter}) {subcaps[img_index]}"))]))
                img_index += 1
            elif "text/html" in data:
                blocks.extend(pa.read_blocks(data["text/html"], "html"))
            elif "text/plain" in data:
                text = data["text/plain"]
                if text.strip():
                    blocks.append(pa.CodeBlock(text, pa.attr("", ["cell-output"])))
        if not blocks:
            raise RenderError(f"cell '{cell.label}' in {cell.notebook.name}: no output that can be "
                              "shown (expected an image, an HTML table or markdown)")
        return blocks

    def _write_media(self, cell: EmbeddedCell, index: int, data: dict[str, Any]) -> Media:
        self.media_dir.mkdir(parents=True, exist_ok=True)
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{cell.stem}-{cell.label}-{index}")
        media = Media()
        for mime, ext in (("image/png", "png"), ("image/jpeg", "jpg"), ("image/svg+xml", "svg"),
                          ("application/pdf", "pdf")):
            if mime not in data:
                continue
            payload = data[mime]
            raw = payload.encode("utf-8") if isinstance(payload, str) else payload
            digest = hashlib.sha1(raw).hexdigest()[:8]
            name = f"{base}-{digest}.{ext}"
            (self.media_dir / name).write_bytes(raw)
            setattr(media, {"jpg": "jpeg"}.get(ext, ext), f"{self.media_prefix}/{name}")
            size = None
            if ext == "png" and media.width_in is None:
                size = png_size_inches(raw)
            if ext == "svg":
                size = svg_size_inches(raw.decode("utf-8", "replace"))
            if size:
                media.width_in, media.height_in = size
        return media

    def _source_note(self, cells: list[EmbeddedCell]) -> pa.Node:
        inl: list[pa.Node] = [pa.Str("Source:"), pa.Space()]
        for i, cell in enumerate(cells):
            if i:
                inl += [pa.Str(";"), pa.Space()]
            text = pa.text_inlines(f"notebook {cell.stem}, cell ") + [pa.Code(cell.label)]
            inl.append(pa.Link(text, self.notebook_href(cell)))
        return pa.Div([pa.Para(inl)], pa.attr("", ["source-note"]))

    # --------------------------------------------------------- references
    def resolve_references(self, doc: pa.Node) -> list[str]:
        """Replace @-references to floats by links; return the citation keys
        left (bibliography citations). Raise on unresolved references."""
        unresolved: list[str] = []
        citations: list[str] = []

        def fix(inline: pa.Node):
            if inline.get("t") != "Cite":
                return None
            cits = inline["c"][0]
            out: list[pa.Node] = []
            kinds_here = []
            for cit in cits:
                cid = cit["citationId"]
                lookup = cid[0].lower() + cid[1:] if cid else cid
                prefix = lookup.split("-", 1)[0] if "-" in lookup else ""
                is_ref = prefix in self.kinds or prefix in RESERVED_PREFIXES
                kinds_here.append(is_ref)
                if not is_ref:
                    citations.append(cid)
                    continue
                info = self.floats.get(lookup)
                if info is None:
                    unresolved.append("@" + cid)
                    continue
                if out:
                    out += [pa.Str(","), pa.Space()]
                out += cit["citationPrefix"] + ([pa.Space()] if cit["citationPrefix"] else [])
                if cit["citationMode"]["t"] == "SuppressAuthor":
                    text = str(info.number)
                else:
                    text = info.ref_text
                out.append(pa.Link(pa.text_inlines(text), f"#{info.id}",
                                   a=pa.attr("", ["quarto-xref"])))
                out += cit["citationSuffix"]
            if any(kinds_here) and not all(kinds_here):
                ids = ", ".join("@" + c["citationId"] for c in cits)
                raise RenderError(f"[{ids}] mixes cross-references and citations; write them "
                                  "as separate brackets")
            if any(kinds_here):
                return out
            return None

        pa.walk_inlines(doc["blocks"], fix)
        pa.walk_meta_inlines(doc.get("meta", {}), fix)
        if unresolved:
            known = ", ".join(sorted(self.floats)) or "none"
            raise RenderError("unresolved cross-reference(s): " + ", ".join(sorted(set(unresolved)))
                              + f" (labels defined: {known})")
        return citations


def _caption_inlines(caption: list[Any]) -> list[pa.Node]:
    blocks = caption[1] if caption else []
    inl: list[pa.Node] = []
    for b in blocks:
        if b.get("t") in ("Plain", "Para"):
            if inl:
                inl.append(pa.Space())
            inl.extend(b["c"])
    return inl


def _echo(placeholder: pa.Node) -> bool:
    return pa.attr_kv(placeholder["c"][0]).get("echo") == "true"


def _where(placeholder: pa.Node) -> str:
    return pa.attr_kv(placeholder["c"][0]).get("where", "")


def _media_attrs(media: Media) -> dict[str, str]:
    kv = {}
    for k in ("png", "svg", "pdf", "jpeg"):
        v = getattr(media, k)
        if v:
            kv[f"hcc-{k}"] = v
    if media.width_in and media.height_in:
        kv["hcc-width-in"] = f"{media.width_in:.3f}"
        kv["hcc-height-in"] = f"{media.height_in:.3f}"
    return kv


def _html_table_blocks(html: str, cell: EmbeddedCell) -> list[pa.Node]:
    blocks = pa.read_blocks(html, "html")
    tables = [b for b in blocks if b.get("t") == "Table"]
    if not tables:
        raise RenderError(f"cell '{cell.label}' in {cell.notebook.name}: its HTML output holds a "
                          "<table> that Pandoc could not read as a table")
    # Keep only real content: drop empty paragraphs pandoc makes from wrappers.
    return [b for b in blocks if not (b.get("t") in ("Plain", "Para") and not pa.stringify(b).strip())]


# --------------------------------------------------------------------------
# per-output finishing
# --------------------------------------------------------------------------

TEXT_WIDTH_IN = 6.6  # A4 with 2 cm side margins, a little under 17 cm
MAX_FIGURE_HEIGHT_IN = 6.0  # leaves room for the caption on a 25 cm text block


def _set_column_widths(table: pa.Node) -> None:
    """Relative column widths from the text (paged formats only; browsers
    size HTML tables well). Body cells count fully, header cells by their
    longest word since headers may wrap. Explicit widths are kept."""
    colspecs = table["c"][2]
    if not colspecs or any(spec[1].get("t") != "ColWidthDefault" for spec in colspecs):
        return
    n = len(colspecs)
    need = [4.0] * n

    def visit(rows: list, header: bool) -> None:
        for row in rows:
            col = 0
            for cell in row[1]:
                span = cell[3]
                text = pa.stringify(cell[4]).strip()
                if span == 1 and col < n:
                    size = max((len(w) for w in text.split()), default=0) if header else min(len(text), 38)
                    need[col] = max(need[col], float(size) + 2.0)
                col += span

    visit(table["c"][3][1], header=True)
    for body in table["c"][4]:
        visit(body[2], header=True)
        visit(body[3], header=False)
    total = sum(need)
    if total < 60:  # a small table keeps its natural width
        return
    for spec, w in zip(colspecs, need):
        spec[1] = {"t": "ColWidth", "c": round(w / total, 4)}


def finalize(doc: pa.Node, target: str) -> pa.Node:
    """A copy of ``doc`` adjusted for one writer: html, typst or docx."""
    doc = copy.deepcopy(doc)

    def blocks_fn(b: pa.Node):
        t = b.get("t")
        a = pa.get_attr(b)
        if t == "Div" and a and "hcc-pagebreak" in a[1]:
            if target == "typst":
                return pa.RawBlock("typst", "#pagebreak()")
            if target == "docx":
                return pa.RawBlock("openxml", '<w:p><w:r><w:br w:type="page"/></w:r></w:p>')
            return pa.Div([], pa.attr("", ["page-break"]))
        if t == "Div" and a and "source-note" in a[1]:
            para = b["c"][1][0]
            if target == "typst":
                return pa.Para([pa.RawInline("typst", "#text(size: 7.5pt, fill: luma(90))["),
                                *para["c"], pa.RawInline("typst", "]")])
            if target == "docx":
                return pa.Div([pa.Para([pa.Emph(para["c"])])],
                              pa.attr("", [], {"custom-style": "Source Note"}))
        if t == "Table" and target in ("typst", "docx"):
            _set_column_widths(b)
        if t == "Table" and target == "typst":
            head = b["c"][3]
            for r, row in enumerate(head[1]):
                for cell in row[1]:
                    spans_columns = cell[3] > 1 and r < len(head[1]) - 1
                    for blk in cell[4]:
                        if blk.get("t") in ("Plain", "Para") and blk["c"]:
                            inner = [pa.Strong(blk["c"])]
                            if spans_columns:  # a column group: rule under its name
                                inner = [pa.RawInline("typst", "#block(width: 100%, inset: (bottom: 2.5pt), "
                                                               "stroke: (bottom: 0.5pt + luma(90)))["),
                                         *inner, pa.RawInline("typst", "]")]
                            blk["c"] = inner
        return None

    def inline_fn(i: pa.Node):
        if i.get("t") != "Image":
            return None
        a = i["c"][0]
        kv = pa.attr_kv(a)
        if "hcc-media" not in a[1]:
            return None
        if target == "typst":
            order = ("hcc-svg", "hcc-pdf", "hcc-png", "hcc-jpeg")
        elif target == "html":
            order = ("hcc-svg", "hcc-png", "hcc-jpeg")
        else:
            order = ("hcc-png", "hcc-jpeg", "hcc-svg")
        url = next((kv[k] for k in order if k in kv), i["c"][2][0])
        new_kv: dict[str, str] = {}
        if target == "typst":
            width = float(kv.get("hcc-width-in", "0") or 0)
            height = float(kv.get("hcc-height-in", "0") or 0)
            shown = min(width, TEXT_WIDTH_IN) if width else TEXT_WIDTH_IN
            if width and height and shown * height / width > MAX_FIGURE_HEIGHT_IN:
                new_kv["height"] = f"{MAX_FIGURE_HEIGHT_IN:.2f}in"  # tall figure: cap its height
            else:
                new_kv["width"] = "100%" if shown >= TEXT_WIDTH_IN else f"{shown:.2f}in"
        i["c"][0] = pa.attr(a[0], [c for c in a[1] if c != "hcc-media"], new_kv)
        i["c"][2][0] = url
        return i

    doc["blocks"] = pa.walk_blocks(doc["blocks"], blocks_fn)
    pa.walk_inlines(doc["blocks"], inline_fn)
    return doc
