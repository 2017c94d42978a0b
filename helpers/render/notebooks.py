"""Executed notebooks: find embedded cells, read their outputs, write the
notebook pages that the report's "Source" links point to.

Nothing here executes code: the notebooks were run by papermill.

Cells are found the way Quarto's ``embed`` shortcode finds them
(quarto.org, "Embedding from Other Documents" → Specifying Cells): a cell
``id`` equal to the identifier, else a cell whose ``#| label:`` is the
identifier, else cells tagged with it.
"""
from __future__ import annotations

import base64
import html
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from .errors import RenderError
from .qmd import parse_cell_options


@dataclass
class CellOutput:
    """One display output of a cell, by MIME type (str for text, bytes for binary)."""

    data: dict[str, Any]


@dataclass
class EmbeddedCell:
    notebook: Path
    label: str
    options: dict[str, Any]
    source: str
    outputs: list[CellOutput] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)

    @property
    def stem(self) -> str:
        return self.notebook.stem


_NB_CACHE: dict[Path, Any] = {}


def load_notebook(path: Path, where: str) -> Any:
    path = path.resolve()
    if path not in _NB_CACHE:
        if not path.exists():
            raise RenderError(f"{where}: embedded notebook {path} does not exist "
                              "(run `make analysis` first: papermill writes build/notebooks/)")
        try:
            _NB_CACHE[path] = nbformat.read(str(path), as_version=4)
        except Exception as exc:  # noqa: BLE001
            raise RenderError(f"{where}: cannot read notebook {path}: {exc}") from exc
    return _NB_CACHE[path]


def clear_cache() -> None:
    _NB_CACHE.clear()


def cell_label(cell: Any) -> str | None:
    if cell.get("cell_type") != "code":
        return None
    options, _ = parse_cell_options(cell.source.splitlines(), "notebook cell")
    label = options.get("label")
    return str(label) if label is not None else None


def find_cell(nb: Any, ident: str) -> Any | None:
    for cell in nb.cells:
        if cell.get("id") == ident:
            return cell
    for cell in nb.cells:
        try:
            if cell_label(cell) == ident:
                return cell
        except RenderError:
            continue
    for cell in nb.cells:
        if ident in (cell.get("metadata", {}).get("tags") or []):
            return cell
    return None


def _decode(mime: str, value: Any) -> Any:
    if isinstance(value, list):
        value = "".join(value)
    if mime.startswith("image/") and mime != "image/svg+xml" or mime == "application/pdf":
        return base64.b64decode(value)
    return value


def embedded_cell(notebook: Path, ident: str, where: str) -> EmbeddedCell:
    nb = load_notebook(notebook, where)
    cell = find_cell(nb, ident)
    if cell is None:
        labels = [lb for c in nb.cells if (lb := _safe_label(c))]
        raise RenderError(f"{where}: no cell '{ident}' in {notebook.name} "
                          f"(labelled cells: {', '.join(labels) or 'none'})")
    if cell.get("cell_type") != "code":
        raise RenderError(f"{where}: '{ident}' in {notebook.name} is not a code cell")
    options, code = parse_cell_options(cell.source.splitlines(), f"{notebook.name}#{ident}")
    result = EmbeddedCell(notebook=notebook, label=str(options.get("label", ident)),
                          options=options, source="\n".join(code))
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "error":
            raise RenderError(f"{where}: cell '{ident}' in {notebook.name} ended with an error "
                              f"({out.get('ename')}: {out.get('evalue')}); re-run the analysis")
        if kind == "stream":
            if out.get("name") == "stdout":
                text = out.get("text", "")
                result.streams.append("".join(text) if isinstance(text, list) else text)
            continue
        if kind in ("display_data", "execute_result"):
            data = {m: _decode(m, v) for m, v in out.get("data", {}).items()}
            result.outputs.append(CellOutput(data=data))
    if not result.outputs and not result.streams:
        raise RenderError(f"{where}: cell '{ident}' in {notebook.name} has no output "
                          "(was the notebook executed?)")
    return result


def _safe_label(cell: Any) -> str | None:
    try:
        return cell_label(cell)
    except RenderError:
        return None


def png_size_inches(data: bytes) -> tuple[float, float] | None:
    """Natural size of a PNG from its IHDR and pHYs chunks (None if unknown)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width, height = struct.unpack(">II", data[16:24])
    pos = 8
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        if ctype == b"pHYs":
            xppu, yppu, unit = struct.unpack(">IIB", data[pos + 8:pos + 17])
            if unit == 1 and xppu > 0:
                dpi = xppu * 0.0254
                return width / dpi, height / dpi
            break
        if ctype == b"IDAT":
            break
        pos += 12 + length
    return width / 96.0, height / 96.0


def svg_size_inches(text: str) -> tuple[float, float] | None:
    m_w = re.search(r'<svg[^>]*\bwidth="([\d.]+)(pt|px|in|cm|mm)?"', text)
    m_h = re.search(r'<svg[^>]*\bheight="([\d.]+)(pt|px|in|cm|mm)?"', text)
    if not (m_w and m_h):
        return None
    per_inch = {"pt": 72.0, "px": 96.0, None: 96.0, "in": 1.0, "cm": 2.54, "mm": 25.4}
    return (float(m_w.group(1)) / per_inch[m_w.group(2)],
            float(m_h.group(1)) / per_inch[m_h.group(2)])


# --------------------------------------------------------------------------
# notebook pages (nbconvert)
# --------------------------------------------------------------------------

PAGE_CSS = """
.hcc-nb-banner { font: 14px/1.4 system-ui, sans-serif; background: #f4f6f8;
  border-bottom: 1px solid #d0d7de; padding: 10px 24px; margin-bottom: 12px; }
.hcc-nb-banner a { color: #0b5394; }
.jp-Cell:target, .jp-Cell.hcc-target { outline: 3px solid #f0ad4e; outline-offset: 2px; }
"""


_NETWORK = re.compile(r"""^(https?:)?//""")
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.S | re.I)
_LINK = re.compile(r"<link\b[^>]*>", re.I)
_ATTR = re.compile(r"""\b([\w-]+)\s*=\s*("[^"]*"|'[^']*')""")
_CELL_DIV = re.compile(r'(<div\b[^>]*?)\bid="cell-id=([^"]*)"')


def _attributes(tag: str) -> dict[str, str]:
    """The attributes of the start tag ``tag`` (quoted values only, as nbconvert writes them)."""
    return {m.group(1).lower(): html.unescape(m.group(2)[1:-1]) for m in _ATTR.finditer(tag.split(">", 1)[0])}


def _local_only(page: str) -> str:
    """``page`` without the scripts and stylesheets it would load from the network (require.js, MathJax)."""

    def script(m: re.Match) -> str:
        return "" if _NETWORK.match(_attributes(m.group(0)).get("src", "")) else m.group(0)

    def link(m: re.Match) -> str:
        attrs = _attributes(m.group(0))
        remote = _NETWORK.match(attrs.get("href", "")) and "stylesheet" in attrs.get("rel", "").split()
        return "" if remote else m.group(0)

    return _LINK.sub(link, _SCRIPT.sub(script, page))


def _own_html(text: str | bytes) -> str:
    """nbconvert's ``clean_html`` filter for the project's own notebooks: the HTML as it is."""
    return text.decode() if isinstance(text, bytes) else str(text)


def render_notebook_page(notebook: Path, out_html: Path, *, back_href: str | None = None,
                         title: str | None = None, anchors: list[str] | None = None) -> list[str]:
    """Write ``notebook`` (executed) as a self-contained HTML page.

    Every code cell with a ``#| label:`` gets that label as its HTML id (so
    ``page.html#fig-km`` lands on the cell, which is then outlined). Scripts
    loaded from the network by nbconvert's template (require.js, MathJax) are
    removed: the page loads nothing from outside. ``anchors`` are extra cell
    identifiers (cell ids or tags, as an embed may use) that must get an id
    too. Returns the anchors placed.

    The page is nbconvert's ``lab`` template as it writes it; only its tags
    are edited (each cell is ``<div class="jp-Cell ..." id="cell-id=<id>">``),
    so nothing else of the page is parsed or re-serialized.
    """
    from nbconvert import HTMLExporter  # noqa: PLC0415

    nb = nbformat.read(str(notebook), as_version=4)
    labels_by_id: dict[str, str] = {}
    for i, cell in enumerate(nb.cells):
        if not cell.get("id"):
            cell["id"] = f"cell-{i}"
        label = _safe_label(cell)
        if label:
            labels_by_id[cell["id"]] = label
    for ident in anchors or []:
        if ident in labels_by_id.values():
            continue
        cell = find_cell(nb, ident)
        if cell is not None and cell["id"] not in labels_by_id:
            labels_by_id[cell["id"]] = ident
    nb.metadata["title"] = title or notebook.stem

    # The lab template passes every code cell's highlighted source (and each markdown cell) through bleach
    # ("clean_html": 0.04 s a cell, two thirds of a page's time). These are the project's own notebooks,
    # highlighted by pygments (which escapes the code); outputs are not sanitized by nbconvert's default
    # either (HTMLExporter.sanitize_html is False).
    exporter = HTMLExporter(template_name="lab", filters={"clean_html": _own_html})
    exporter.embed_images = True
    body, _ = exporter.from_notebook_node(nb)
    body = _local_only(body)

    found: list[str] = []

    def cell_div(m: re.Match) -> str:
        cell_id = html.unescape(m.group(2))
        label = labels_by_id.get(cell_id)
        if label is None:
            return m.group(0)
        found.append(label)
        return f'{m.group(1)}id="{html.escape(label)}" data-cell-id="{html.escape(cell_id)}"'

    body = _CELL_DIV.sub(cell_div, body)
    found = [label for label in labels_by_id.values() if label in found]  # in the notebook's order, once each
    body = body.replace("</head>", f"<style>{PAGE_CSS}</style></head>", 1)
    banner = (f'<div class="hcc-nb-banner"><strong>Notebook {html.escape(notebook.stem)}</strong>'
              " — executed by papermill; outputs as embedded in the report.")
    if back_href:
        banner += f' <a href="{html.escape(back_href)}">← Back to the article</a>'
    banner += "</div>"
    body = re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + banner, body, count=1)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(body, encoding="utf-8")
    return found
