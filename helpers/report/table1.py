"""The paper's Table 1 laid out for the report (HTML and Markdown) from :func:`helpers.stats.balance.balance_table`.

The statistics (counts, p-values, SMDs) are computed in ``helpers.stats.balance``;
this module only formats them, with :mod:`helpers.report.fmt` and the
clinical labels of :mod:`helpers.report.labels`.
"""
from __future__ import annotations

import html
import math

import pandas as pd

from helpers.data.schema import CONTROL_ARM, TREATED_ARM
from helpers.report import fmt
from helpers.report.labels import level_label
from helpers.stats.balance import arm_slug


def format_smd(smd: float) -> str:
    """An SMD with 3 decimals (``not estimable`` for NaN, ``inf`` for complete separation)."""
    return "inf" if smd is not None and math.isinf(smd) else fmt.number(smd)


def _n_pct(n: int, pct: float, decimals: int) -> str:
    return fmt.count(n, pct, decimals, sign=False)


_INDENT = "\u2003"  # em space: survives Markdown and HTML whitespace collapsing


def table1_layout(
    balance_before: pd.DataFrame,
    balance_after: pd.DataFrame | None = None,
    control: str = CONTROL_ARM,
    treated: str = TREATED_ARM,
    pct_decimals: int = 1,
    smd_before: bool = False,
) -> tuple[list[tuple[str, list[str]]], list[tuple[str, str, list[str]]]]:
    """The paper's Table 1 as column groups and body rows of text cells.

    One row per variable (its label, with the P and SMD of the variable) then
    one row per level (``n (%)`` per arm). Column groups are ``"Before
    matching"``: ``"<control> (n = N)"``, ``"<treated> (n = N)"``, ``"P"``, and
    the same for ``"After matching"`` plus ``"SMD"`` (as in the paper, SMD is
    shown after matching only unless ``smd_before``). :func:`table1_markdown`
    and :func:`table1_html` lay these rows out.

    Parameters
    ----------
    balance_before, balance_after : DataFrame
        Outputs of :func:`balance_table` (``balance_after`` may be None: one
        column group only).
    control, treated : str
        Arm names, used to find the ``n_<slug>`` columns and in the headers.
    pct_decimals : int
        Decimals of the percentages (the paper prints 3).
    smd_before : bool
        Show the SMD before matching too.

    Returns
    -------
    groups : list of (str, list of str)
        ``[(group title, [column titles])]``.
    rows : list of (str, str, list of str)
        ``[(kind, label, [cells])]`` with kind ``"variable"`` or ``"level"``;
        a variable's label ends with ", n (%)".
    """
    c, t = arm_slug(control), arm_slug(treated)
    blocks = [("Before matching", balance_before, smd_before)]
    if balance_after is not None:
        blocks.append(("After matching", balance_after, True))

    groups = []
    for title, bt, with_smd in blocks:
        cols = [f"{control} (n = {int(bt[f'n_arm_{c}'].iloc[0])})",
                f"{treated} (n = {int(bt[f'n_arm_{t}'].iloc[0])})", "P"]
        groups.append((title, cols + (["SMD"] if with_smd else [])))

    order = list(dict.fromkeys(balance_before["variable"]))
    rows = []
    for var in order:
        parts = [bt[bt["variable"] == var] for _, bt, _ in blocks]
        label = parts[0]["label"].iloc[0]
        head = []
        for (_, _, with_smd), part in zip(blocks, parts):
            first = part.iloc[0] if len(part) else None
            head += ["", "", fmt.p_value(first["p_value"]) if first is not None else fmt.NOT_ESTIMABLE]
            if with_smd:
                head.append(format_smd(first["smd"]) if first is not None else fmt.NOT_ESTIMABLE)
        rows.append(("variable", f"{label}, n (%)", head))
        levels = list(dict.fromkeys(pd.concat([p["level"] for p in parts])))
        for lvl in levels:
            cells = []
            for (_, _, with_smd), part in zip(blocks, parts):
                row = part[part["level"] == lvl]
                if len(row):
                    r = row.iloc[0]
                    cells += [_n_pct(int(r[f"n_{c}"]), float(r[f"pct_{c}"]), pct_decimals),
                              _n_pct(int(r[f"n_{t}"]), float(r[f"pct_{t}"]), pct_decimals), ""]
                else:
                    cells += ["", "", ""]
                if with_smd:
                    cells.append("")
            rows.append(("level", level_label(lvl), cells))
    return groups, rows


def table1_markdown(balance_before: pd.DataFrame, balance_after: pd.DataFrame | None = None, **layout) -> str:
    """Table 1 as a Markdown pipe table.

    Pipe tables have one header row, so the column group is folded into each
    header ("Before: SBRT (n = 109)"); variable labels are bold, levels are
    indented with em spaces (U+2003), which survive Markdown whitespace
    collapsing.

    Parameters
    ----------
    balance_before, balance_after : DataFrame
        Outputs of :func:`balance_table`.
    **layout
        ``control``, ``treated``, ``pct_decimals``, ``smd_before`` of
        :func:`table1_layout`.
    """
    groups, rows = table1_layout(balance_before, balance_after, **layout)
    short = {"Before matching": "Before", "After matching": "After"}
    header = ["Variable"] + [f"{short.get(g, g)}: {col}" for g, cols in groups for col in cols]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    for kind, label, cells in rows:
        first = f"**{label}**" if kind == "variable" else _INDENT + label
        lines.append("| " + " | ".join([first] + cells).replace("<", "&lt;") + " |")
    return "\n".join(lines) + "\n"


def table1_html(
    balance_before: pd.DataFrame,
    balance_after: pd.DataFrame | None = None,
    caption: str | None = "Table 1. Baseline characteristics of the study population",
    **layout,
) -> str:
    """Table 1 as an HTML ``<table>`` with a real two-level header.

    The first header row holds "Variables" (``rowspan=2``) and the column
    groups (``colspan``); the second the arm columns with their n, P and
    SMD. Variable rows have ``class="t1-variable"``, level rows
    ``class="t1-level"`` and an inline left padding, so the table reads
    correctly without a style sheet.

    Parameters
    ----------
    balance_before, balance_after : DataFrame
        Outputs of :func:`balance_table`.
    caption : str or None
        The ``<caption>``; None for none (Quarto captions the cell).
    **layout
        ``control``, ``treated``, ``pct_decimals``, ``smd_before`` of
        :func:`table1_layout`.
    """
    groups, rows = table1_layout(balance_before, balance_after, **layout)
    esc = html.escape
    out = ['<table class="table1">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead>")
    out.append('<tr><th rowspan="2" style="text-align:left">Variables</th>'
               + "".join(f'<th colspan="{len(cols)}" style="text-align:center">{esc(g)}</th>' for g, cols in groups)
               + "</tr>")
    out.append("<tr>" + "".join(f"<th>{esc(col)}</th>" for _, cols in groups for col in cols) + "</tr>")
    out.append("</thead>")
    out.append("<tbody>")
    for kind, label, cells in rows:
        if kind == "variable":
            first = f'<td style="text-align:left"><strong>{esc(label)}</strong></td>'
        else:
            first = f'<td style="text-align:left;padding-left:1.5em">{esc(label)}</td>'
        tds = "".join(f'<td style="text-align:right">{esc(cell)}</td>' for cell in cells)
        out.append(f'<tr class="t1-{kind}">{first}{tds}</tr>')
    out.append("</tbody>")
    out.append("</table>")
    return "\n".join(out) + "\n"
