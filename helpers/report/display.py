"""How notebooks emit tables so that both renderers turn them into real tables.

A table cell's output is one display bundle with two MIME types:

``text/html``
    A plain ``<table>`` with a ``<thead>`` of one or two rows (column groups
    such as "Before matching" / "After matching" are ``colspan`` cells, a
    column without a group spans both header rows with ``rowspan``) and a
    ``<tbody>``; no ``<style>``, no classes needed, alignment as
    ``style="text-align: …"`` on the cells.

``text/plain``
    A readable text version (the optional ``markdown`` argument, or one made
    from the HTML) for consoles and plain viewers.

Deliberately **no** ``text/markdown``. Quarto picks the output to use per
format (``displayDataMimeType`` in quarto-cli ``src/core/jupyter/display-data.ts``):
for HTML it takes ``text/html``; for Typst/PDF and Word it prefers
``text/markdown`` if present, and only falls back to ``text/html`` when the
HTML holds a ``<table>`` (which its HTML-table processing, on by default since
Quarto 1.3, parses into a Pandoc table with row/column spans for every
format). A pipe table cannot express a two-level header, so offering
markdown would flatten the PDF and Word tables. The pip-only renderer
(``helpers.render``) reads the same ``text/html`` with Pandoc's HTML reader,
which keeps ``colspan``/``rowspan``; Pandoc's HTML, Typst and DOCX writers
all write the spans.

Typical use, as the last line of a labelled notebook cell::

    #| label: tbl-baseline
    #| tbl-cap: "Baseline characteristics before and after matching"
    show_df(table_df)            # DataFrame with 2-level columns

or, with HTML made elsewhere, ``show_table(html, markdown)``.
"""
from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TableOutput", "show_table", "show_df", "table_html", "table_text"]

EM_SPACE = "\u2003"


@dataclass(frozen=True)
class TableOutput:
    """A table as a Jupyter display bundle (``text/html`` + ``text/plain``)."""

    html: str
    text: str

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": self.text}

    def _repr_html_(self) -> str:  # for tools that only look for this one
        return self.html

    def __repr__(self) -> str:
        return self.text


def show_table(html: str, markdown: str | None = None) -> TableOutput:
    """Wrap an HTML table for display; ``markdown`` becomes the text/plain view.

    The HTML must contain a ``<table>``; it is checked so that a typo does not
    silently become a paragraph of text in the report.
    """
    if not re.search(r"<table[\s>]", html, re.IGNORECASE) or "</table>" not in html.lower():
        raise ValueError("show_table() needs an HTML <table>…</table>")
    if re.search(r"<style[\s>]", html, re.IGNORECASE):
        raise ValueError("show_table(): no <style> in table HTML (renderers drop it); "
                         "use style='text-align: …' on cells")
    html = indent_from_padding(html)
    text = markdown if markdown is not None else _text_from_html(html)
    return TableOutput(html=html, text=text)


_CELL_PADDING_RE = re.compile(
    r'<(?P<tag>td|th)(?P<pre>[^>]*?)\sstyle="(?P<style>[^"]*?)padding-left:\s*(?P<val>[\d.]+)(?P<unit>em|rem|px)\s*;?(?P<rest>[^"]*)"(?P<post>[^>]*)>',
    re.IGNORECASE)


def indent_from_padding(html: str) -> str:
    """Turn a cell's CSS ``padding-left`` into leading em spaces.

    Pandoc (and so Quarto's HTML-table processing and the pip-only renderer)
    drops cell styles other than alignment, so an indent made with padding
    disappears in PDF and Word; em spaces survive everywhere.
    """

    def fix(m: re.Match[str]) -> str:
        value = float(m.group("val")) / (16.0 if m.group("unit").lower() == "px" else 1.0)
        style = (m.group("style") + m.group("rest")).strip().strip(";").strip()
        style_attr = f' style="{style}"' if style else ""
        return (f"<{m.group('tag')}{m.group('pre')}{style_attr}{m.group('post')}>"
                + EM_SPACE * max(1, int(value)))

    return _CELL_PADDING_RE.sub(fix, html)


def show_df(df: Any, **kwargs: Any) -> TableOutput:
    """Display a DataFrame (one- or two-level columns) as a real table.

    Keyword arguments go to :func:`table_html`.
    """
    return TableOutput(html=table_html(df, **kwargs), text=table_text(df))


# --------------------------------------------------------------------------
# DataFrame -> HTML
# --------------------------------------------------------------------------

def _cell_text(value: Any, na: str) -> str:
    try:
        import pandas as pd  # noqa: PLC0415  (only needed with DataFrames)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return na
    except (TypeError, ValueError, ImportError):
        pass
    return str(value)


def _indent(text: str) -> str:
    """Leading spaces (two per level) become em spaces, which survive HTML,
    Pandoc's readers and every writer (plain spaces are collapsed)."""
    stripped = text.lstrip(" ")
    n = len(text) - len(stripped)
    return EM_SPACE * ((n + 1) // 2) + stripped if n else text


def _esc(text: str) -> str:
    return _html.escape(text, quote=False)


def _style(align: str | None) -> str:
    return f' style="text-align: {align}"' if align else ""


def table_html(
    df: Any,
    *,
    index: bool = False,
    align: Sequence[str] | str | None = None,
    na: str = "",
    bold_rows: Iterable[int] = (),
) -> str:
    """Render a DataFrame as a clean HTML table.

    Columns may be a 2-level MultiIndex ``(group, column)``: equal adjacent
    groups become one ``colspan`` header cell; a column whose group is empty
    (``""`` or ``None``) spans both header rows (``rowspan="2"``) under its own
    name. String cells that start with spaces are indented (two spaces per
    level, written as em spaces). ``align``: one of left/center/right for all
    columns, or one per column; default left for the first column and for
    text columns, center for columns of numbers (counts, "n (%)", CIs). ``bold_rows``: row positions to set in bold (e.g. the
    variable rows of a baseline table).
    """
    import pandas as pd  # noqa: PLC0415

    if index:
        df = df.reset_index()
    cols = list(df.columns)
    ncol = len(cols)
    if align is None:
        aligns = ["left"] + [_default_align(df.iloc[:, k]) for k in range(1, ncol)]
    elif isinstance(align, str):
        aligns = [align] * ncol
    else:
        aligns = list(align)
        if len(aligns) != ncol:
            raise ValueError(f"align has {len(aligns)} entries for {ncol} columns")

    two_level = isinstance(df.columns, pd.MultiIndex)
    if two_level and df.columns.nlevels != 2:
        raise ValueError("table_html() handles one- or two-level column headers")

    head: list[str] = []
    if two_level:
        groups = [("" if g is None or (isinstance(g, float) and pd.isna(g)) else str(g)) for g, _ in cols]
        names = [("" if c is None else str(c)) for _, c in cols]
        top: list[str] = []
        i = 0
        while i < ncol:
            g = groups[i]
            if not g or not names[i]:
                label = names[i] or g
                top.append(f'<th rowspan="2"{_style(aligns[i])}>{_esc(label)}</th>')
                i += 1
                continue
            j = i
            while j + 1 < ncol and groups[j + 1] == g and names[j + 1]:
                j += 1
            top.append(f'<th colspan="{j - i + 1}" style="text-align: center">{_esc(g)}</th>')
            i = j + 1
        sub = [f"<th{_style(aligns[k])}>{_esc(names[k])}</th>"
               for k in range(ncol) if groups[k] and names[k]]
        head.append("<tr>" + "".join(top) + "</tr>")
        head.append("<tr>" + "".join(sub) + "</tr>")
    else:
        head.append("<tr>" + "".join(f"<th{_style(a)}>{_esc(str(c))}</th>"
                                     for c, a in zip(cols, aligns)) + "</tr>")

    bold = set(bold_rows)
    body: list[str] = []
    for r, row in enumerate(df.itertuples(index=False, name=None)):
        cells = []
        for k, value in enumerate(row):
            text = _esc(_indent(_cell_text(value, na)))
            if r in bold and text:
                text = f"<strong>{text}</strong>"
            cells.append(f"<td{_style(aligns[k])}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")

    return ("<table>\n<thead>\n" + "\n".join(head) + "\n</thead>\n<tbody>\n"
            + "\n".join(body) + "\n</tbody>\n</table>\n")


_NUMBERISH = re.compile(r"^[\s<>≤≥=~+\-−–(]*\d")


def _default_align(col: Any) -> str:
    import pandas as pd  # noqa: PLC0415

    if pd.api.types.is_numeric_dtype(col):
        return "center"
    values = [str(v) for v in col if v is not None and str(v).strip() and str(v) != "nan"]
    if values and sum(bool(_NUMBERISH.match(v)) for v in values) >= 0.8 * len(values):
        return "center"
    return "left"


def table_text(df: Any, na: str = "") -> str:
    """A plain-text grid of a DataFrame (group headers joined with " / ")."""
    import pandas as pd  # noqa: PLC0415

    if isinstance(df.columns, pd.MultiIndex):
        header = [" / ".join(str(x) for x in c if x not in (None, "")) for c in df.columns]
    else:
        header = [str(c) for c in df.columns]
    rows = [[_cell_text(v, na) for v in row] for row in df.itertuples(index=False, name=None)]
    return _grid([header] + rows)


def _grid(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    widths = [max(len(r[k]) for r in rows) for k in range(width)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _text_from_html(html: str) -> str:
    """Rough text view of an HTML table (used when no markdown is given)."""
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.IGNORECASE | re.DOTALL):
        cells = re.findall(r"<t[hd]([^>]*)>(.*?)</t[hd]>", tr, re.IGNORECASE | re.DOTALL)
        row = []
        for attrs, inner in cells:
            text = _html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()
            span = re.search(r'colspan="?(\d+)', attrs)
            row.append(text)
            row.extend([""] * (int(span.group(1)) - 1 if span else 0))
        rows.append(row)
    return _grid(rows)
