"""Number-level provenance: each inline number of the article links to the cell that computed it.

The article's inline code returns :class:`helpers.report.manuscript.Linked` text,
whose markdown wraps each number in a span::

    [61.8%]{.result-number result="results/numbers.csv: quantity=km_survival, ..." notebook="03_survival" cell="km-logrank"}

In HTML the span becomes a link to the notebook's page at that cell
(``notebooks/03_survival.html#km-logrank``), titled with the results row,
so that hovering names the row and clicking lands on the cell. In PDF and
DOCX it becomes its plain text (the notebook pages are HTML only).
``helpers/render/lua/result-numbers.lua`` does the same for ``quarto render``.
"""
from __future__ import annotations

from collections.abc import Callable

from . import pandoc_ast as pa

NUMBER_CLASS = "result-number"


def _is_number(i: pa.Node) -> bool:
    return i.get("t") == "Span" and NUMBER_CLASS in i["c"][0][1]


def number_cells(doc: pa.Node) -> list[tuple[str, str]]:
    """(notebook, cell) of every linked number, in order of first appearance."""
    found: list[tuple[str, str]] = []

    def fn(i: pa.Node):
        if _is_number(i):
            kv = pa.attr_kv(i["c"][0])
            key = (kv.get("notebook", ""), kv.get("cell", ""))
            if key not in found:
                found.append(key)
        return None

    pa.walk_inlines(doc["blocks"], fn)
    return found


def link_numbers(doc: pa.Node, target: str, href: Callable[[str, str], str]) -> int:
    """Turn the number spans of ``doc`` (in place) into links (``target == "html"``) or plain text.

    ``href(notebook, cell)`` gives the link. Returns how many numbers were
    seen.
    """
    seen = 0

    def fn(i: pa.Node):
        nonlocal seen
        if not _is_number(i):
            return None
        seen += 1
        attrs, content = i["c"]
        kv = pa.attr_kv(attrs)
        if target != "html":
            return content
        return pa.Link(content, href(kv["notebook"], kv["cell"]), kv.get("result", ""),
                       pa.attr("", [NUMBER_CLASS]))

    pa.walk_inlines(doc["blocks"], fn)
    return seen
