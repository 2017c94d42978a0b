"""The problems of the input files: ``Problem``, the collecting ``_Report``, ``DataValidationError``.

A ``Problem`` names the file, the column, the spreadsheet rows (header = row
1) and the broken rule; ``_Report`` groups the rows that break the same rule
in the same column, so that one cause gives one message.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: How many row numbers a message shows before "and N more".
MAX_ROWS_SHOWN = 10
#: How many distinct offending values a message quotes.
MAX_VALUES_SHOWN = 5
#: The column of the typed frames that holds the spreadsheet row number.
SOURCE_ROW = "source_row"


def _format_rows(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:MAX_ROWS_SHOWN])
    more = len(rows) - MAX_ROWS_SHOWN
    if more > 0:
        shown += f" and {more} more"
    return ("row " if len(rows) == 1 else "rows ") + shown


@dataclass
class Problem:
    """One broken rule, located in the spreadsheet.

    ``rows`` are spreadsheet row numbers (header = row 1, first data row = 2);
    ``column`` is ``""`` for a problem of the whole file or of whole rows.
    """

    file: str
    column: str
    rows: list[int]
    rule: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.file
        if self.column:
            where += f", column '{self.column}'"
        if self.rows:
            where += ", " + _format_rows(self.rows)
        return f"{where}: {self.rule}"


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """The problems as a table (for the data-quality appendix).

    ``rows`` lists every spreadsheet row; ``rows_shown`` the first ones as the
    report prints them ("rows 2, 5 and 40 more"), ``n_rows`` how many.
    """
    records = [
        {"severity": p.severity, "file": p.file, "column": p.column, "n_rows": len(p.rows),
         "rows": ", ".join(map(str, p.rows)), "rows_shown": _format_rows(p.rows) if p.rows else "",
         "rule": p.rule}
        for p in problems
    ]
    return pd.DataFrame(records, columns=["severity", "file", "column", "n_rows", "rows", "rows_shown", "rule"])


def input_summary(paths: dict[str, str | Path], n_rows: dict[str, int], *, synthetic: bool,
                  defaults: dict[str, str | Path] | None = None) -> pd.DataFrame:
    """One row per input file: role, file name (no folders), data rows, SHA-256, flags.

    Names the exact bytes a build was made from without exposing where they
    live; two runs on the same files give the same table. ``synthetic`` says
    the rows are synthetic (identifiers ``SYN-``); ``default_input`` that the
    file has the same bytes as the shipped default of that role (``defaults``),
    so a report can tell the calibrated default cohort from an edited copy.
    """
    from helpers.results.store import file_sha256  # noqa: PLC0415

    defaults = defaults or {}
    sha256 = {role: file_sha256(path) for role, path in paths.items()}

    def is_default(role: str) -> bool:  # same bytes: same size first (a registry file is not hashed twice)
        default = Path(defaults[role]) if role in defaults else None
        return (default is not None and default.exists() and default.stat().st_size == Path(paths[role]).stat().st_size
                and file_sha256(default) == sha256[role])

    return pd.DataFrame([
        {"input": role, "file": Path(path).name, "n_rows": int(n_rows[role]), "sha256": sha256[role],
         "synthetic": bool(synthetic), "default_input": is_default(role)}
        for role, path in paths.items()
    ], columns=["input", "file", "n_rows", "sha256", "synthetic", "default_input"])


class DataValidationError(Exception):
    """The input files break the data dictionary. ``str()`` lists every error.

    Attributes: ``problems`` (all), ``errors``, ``warnings``.
    """

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        self.errors = [p for p in self.problems if p.severity == "error"]
        self.warnings = [p for p in self.problems if p.severity != "error"]
        super().__init__(self._message())

    def __reduce__(self):  # picklable although __init__ takes problems
        return (type(self), (self.problems,))

    def _message(self) -> str:
        n = len(self.errors)
        lines = [f"{n} error{'s' if n != 1 else ''} in the input data; nothing was analysed:"]
        lines += [f"  - {p}" for p in self.errors]
        lines.append("Fix them in the spreadsheet, export it again as 'CSV UTF-8' and re-run "
                     "(docs/data-dictionary.md describes every column).")
        return "\n".join(lines)


class _Report:
    """Collects problems, grouping rows that break the same rule in the same column."""

    def __init__(self, file: str):
        self.file = file
        self._groups: dict[tuple[str, str, str, str], tuple[list[int], dict[str, None]]] = {}

    def add(self, column: str, rule: str, rows: int | Iterable[int] = (), *,
            severity: str = "error", found: str | Iterable[str] | None = None, hint: str = "") -> None:
        """Record that ``rows`` break ``rule`` in ``column``; ``found``: the offending value(s)."""
        rows_list, values = self._groups.setdefault((severity, column, rule, hint), ([], {}))
        rows_list.extend([rows] if isinstance(rows, (int, np.integer)) else rows)
        if found is not None:
            values.update(dict.fromkeys([found] if isinstance(found, str) else found))

    def add_if(self, column: str, rule: str, rows: list[int], **kw) -> None:
        """``add`` for a rule checked on every row: nothing when no row breaks it."""
        if rows:
            self.add(column, rule, rows, **kw)

    def problems(self) -> list[Problem]:
        out = []
        for (severity, column, rule, hint), (rows, values) in self._groups.items():
            text = rule
            if values:
                values = list(values)
                shown = ", ".join(f"'{v}'" for v in values[:MAX_VALUES_SHOWN])
                if len(values) > MAX_VALUES_SHOWN:
                    shown += f" and {len(values) - MAX_VALUES_SHOWN} more"
                text += f"; found {shown}"
            if hint:
                text += f" {hint}"
            out.append(Problem(self.file, column, sorted({int(r) for r in rows}), text, severity))
        return out
