"""Read and validate the two input files against the data dictionary.

The data dictionary is ``helpers/schema.py`` (rendered as
``docs/data-dictionary.md``). Users run the report on their own hospital
extracts, exported from spreadsheets, so this module checks every cell and
reports *all* problems at once, each with the file, the column, the
spreadsheet row numbers (the header is row 1, the first patient row 2) and the
rule that was broken, in words a clinician can act on::

    cohort.csv, column 'death_date', rows 14, 27: death_date is before sbrt_start

Errors stop the run (``DataValidationError`` lists every one of both files);
warnings are collected for the report's data-quality appendix.

Public API
----------
``load_study(cohort_path, ae_path) -> LoadedStudy`` (raises ``DataValidationError``),
``load_cohort``, ``load_adverse_events``; ``check_study`` / ``check_cohort`` /
``check_adverse_events`` do the same but return the problems instead of raising;
the building blocks ``read_table``, ``validate_cohort``,
``validate_adverse_events``; ``Problem``, ``problems_frame``. Command line::

    python -m helpers.load data/cohort.csv data/adverse_events.csv

Choices for what spreadsheets do to CSV files
---------------------------------------------
- Files are read as bytes and never written. Cells are read as text with the
  ``csv`` module (nothing is converted to NA behind our back: ``NA`` stays the
  text ``'NA'`` and is reported where a value is expected).
- Encoding: UTF-8; a UTF-8 byte-order mark (Excel's "CSV UTF-8") is removed
  silently. UTF-16 with a byte-order mark (Excel's "Unicode Text") is read with
  a warning. A file that is not valid UTF-8 is read as Windows-1252 (Excel's
  "CSV" on Western-European Windows; Latin-1 for the 5 bytes cp1252 leaves
  undefined) with a warning that lists the rows holding non-ASCII characters.
  Excel workbooks (.xlsx, .xls, .ods) and files with NUL bytes are errors.
- Delimiter: detected from the header row (the one of ``,`` ``;`` tab that
  yields the most dictionary column names). ``;`` and tab are accepted with a
  warning saying what was detected. An Excel ``sep=;`` first line is honoured.
- Decimal commas (``3,5``): in a ``;``- or tab-separated file the comma is the
  decimal mark of the locale that wrote it, so it is read as a decimal point
  with a warning per column; there, ``12.500`` is ambiguous (thousands
  separator?) and is flagged with a warning when the file also uses decimal
  commas. In a comma-separated file a comma inside a number (necessarily a
  quoted cell) is an error: ``1,150`` may be 1150 or 1.15.
- Leading/trailing spaces (also non-breaking and zero-width) are removed from
  every cell and column name, with a warning. Codes are case-sensitive; a value
  that differs from a code only in case, spaces, ``-`` or ``_`` gets a
  "did you mean" hint.
- Rows: completely empty rows are skipped (with a warning unless they trail
  the data); rows with more non-empty cells, or fewer cells, than the header
  are errors; a repeated header row is an error and is skipped; column names
  found below row 1 (title rows above the header) are an error, and so is a
  header with none of the dictionary's names, or with the other file's names
  (files swapped).
- Columns: every dictionary column must be present (an absent optional column
  is ambiguous: "never happened" or "forgotten"?); unknown columns are kept
  (as text) with a warning; duplicated names are an error; an unnamed column
  with values is ignored with a warning; ``source_row`` is reserved.
- ``death_date`` vs ``last_followup``: the dictionary says they are equal.
  Death *after* last follow-up is an error (the analysis would censor the
  patient at last follow-up and lose the death); death *before* last
  follow-up is a warning (the death is analysed on ``death_date``). The other
  date columns (TACE, progression, ...: every date but ``sbrt_start``,
  ``last_followup``, ``death_date``) are events: on or after ``sbrt_start``,
  on or before ``last_followup`` and ``death_date``.
- ``subsequent_therapy`` empty although ``progression_date`` is filled is a
  warning (treatment may be unknown); filled without progression is an error.
- ``progression_sites`` containing ``in-field`` while ``local_progression_date``
  differs from ``progression_date`` (or the reverse) is a warning.
- Dates must be ISO ``YYYY-MM-DD``, real calendar dates, and not in the future.
- Integer columns accept whole numbers written ``5`` or ``5.0``. Integer
  columns with ``allowed`` values (ECOG, grade) must also be one of them.
- Adverse events: a ``term`` that mentions RILD / radiation-induced liver
  disease must be spelled exactly as in the dictionary (the analysis counts
  those terms); a grade-5 event of a patient without ``death_date`` is a
  warning; identical AE rows are a warning.

The typed frames have a ``source_row`` column (the spreadsheet row), dates as
``datetime64[ns]``, integers as ``Int64``, numbers as ``float64``, ``pvtt`` as
``int64``, codes, lists (normalised ``a;b``) and text as ``str`` (NaN when empty).
"""
from __future__ import annotations

import argparse
import codecs
import csv
import io
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.schema import ADVERSE_EVENT_COLUMNS, COHORT_COLUMNS, RILD_TERMS, TABLES, Column

__all__ = [
    "Problem", "DataValidationError", "LoadedStudy",
    "read_table", "validate_cohort", "validate_adverse_events",
    "check_cohort", "check_adverse_events", "check_study",
    "load_cohort", "load_adverse_events", "load_study",
    "problems_frame", "input_summary", "main",
]

#: How many row numbers a message shows before "and N more".
MAX_ROWS_SHOWN = 10
#: How many distinct offending values a message quotes.
MAX_VALUES_SHOWN = 5
#: The column of the typed frames that holds the spreadsheet row number.
SOURCE_ROW = "source_row"

# ---------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------


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
    import hashlib  # noqa: PLC0415

    def sha(path: str | Path) -> str:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    defaults = defaults or {}
    return pd.DataFrame([
        {"input": role, "file": Path(path).name, "n_rows": int(n_rows[role]), "sha256": sha(path),
         "synthetic": bool(synthetic),
         "default_input": role in defaults and Path(defaults[role]).exists() and sha(defaults[role]) == sha(path)}
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
        self._groups: dict[tuple[str, str, str, str], tuple[list[int], list[str]]] = {}

    def add(self, column: str, rule: str, rows: int | Iterable[int] = (), *,
            severity: str = "error", found: str | None = None, hint: str = "") -> None:
        rows_list, values = self._groups.setdefault((severity, column, rule, hint), ([], []))
        rows_list.extend([rows] if isinstance(rows, (int, np.integer)) else rows)
        if found is not None and found not in values:
            values.append(found)

    def add_if(self, column: str, rule: str, rows: list[int], **kw) -> None:
        """``add`` for a rule checked on every row: nothing when no row breaks it."""
        if rows:
            self.add(column, rule, rows, **kw)

    def problems(self) -> list[Problem]:
        out = []
        for (severity, column, rule, hint), (rows, values) in self._groups.items():
            text = rule
            if values:
                shown = ", ".join(f"'{v}'" for v in values[:MAX_VALUES_SHOWN])
                if len(values) > MAX_VALUES_SHOWN:
                    shown += f" and {len(values) - MAX_VALUES_SHOWN} more"
                text += f"; found {shown}"
            if hint:
                text += f" {hint}"
            out.append(Problem(self.file, column, sorted({int(r) for r in rows}), text, severity))
        return out


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

_EDGE_SPACE = re.compile(r"^[\s\u200b\ufeff]+|[\s\u200b\ufeff]+$")
_DELIMITER_NAMES = {",": "commas (',')", ";": "semicolons (';')", "\t": "tabs"}


def _strip(value: str) -> str:
    return _EDGE_SPACE.sub("", value)


def _norm(name: str) -> str:
    """Loose form of a name or code, for "did you mean" hints."""
    return re.sub(r"[\s_\-.]+", "", name).casefold()


def _letters(j: int) -> str:
    """Spreadsheet column letter of the 0-based column j (0 -> A, 26 -> AA)."""
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _empty_frame(file: str, delimiter: str = ",") -> pd.DataFrame:
    df = pd.DataFrame(index=pd.Index([], dtype="int64", name=SOURCE_ROW))
    df.attrs.update(file=file, delimiter=delimiter, fatal=True)
    return df


def _decode(data: bytes, rep: _Report) -> tuple[str | None, bool]:
    """Bytes to text. Returns (text or None if unreadable, read as cp1252?)."""
    if data[:4] == b"PK\x03\x04":
        rep.add("", "is a zipped spreadsheet (Excel .xlsx or LibreOffice .ods), not a CSV file "
                "(in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)')")
        return None, False
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        rep.add("", "is an old-style Excel workbook (.xls), not a CSV file "
                "(in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)')")
        return None, False
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            rep.add("", "starts like a UTF-16 file but cannot be decoded as UTF-16; "
                    "save it as 'CSV UTF-8'")
            return None, False
        rep.add("", "is UTF-16 encoded (Excel 'Unicode Text'); it was read as such, "
                "but 'CSV UTF-8' is the expected format", severity="warning")
        return text, False
    if b"\x00" in data:
        rep.add("", "contains NUL bytes, so it is not a plain-text CSV file (a binary file, "
                "or UTF-16 without a byte-order mark); save it as 'CSV UTF-8'")
        return None, False
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), True
    except UnicodeDecodeError:
        return data.decode("latin-1"), True


class _CsvError(Exception):
    def __init__(self, message: str, row: int):
        super().__init__(message)
        self.row = row  # the spreadsheet row (record) that could not be read


def _parse_csv(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = []
    try:
        for rec in reader:
            records.append(rec)
    except csv.Error as e:
        raise _CsvError(str(e), len(records) + 1) from None
    return records


def _other_table(names: set[str], columns: Sequence[str]) -> str | None:
    """The name of another dictionary table whose columns are all in ``names``."""
    for table, cols in TABLES.items():
        wanted = {c.name for c in cols}
        if wanted != set(columns) and wanted <= names and not set(columns) <= names:
            return table
    return None


def read_table(path: str | Path, columns: Sequence[Column | str]) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a CSV file as text and check its shape (encoding, delimiter, header, rows).

    Returns the cells as stripped strings (index: spreadsheet row numbers,
    named ``source_row``; ``attrs``: ``file``, ``delimiter``, ``fatal``) and the
    problems. Cells are not checked here (see ``validate_cohort``). When the
    file cannot be read at all (``attrs['fatal']``), the frame is empty.
    The file is only read, never written.
    """
    path = Path(path)
    file = path.name
    names_wanted = [c if isinstance(c, str) else c.name for c in columns]
    rep = _Report(file)

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        rep.add("", f"file not found ({path})")
        return _empty_frame(file), rep.problems()
    except OSError as e:
        rep.add("", f"cannot be read ({e.strerror or e}; {path})")
        return _empty_frame(file), rep.problems()

    text, legacy_encoding = _decode(data, rep)
    if text is None:
        return _empty_frame(file), rep.problems()
    if _strip(text) == "":
        rep.add("", "the file is empty (no header, no data)")
        return _empty_frame(file), rep.problems()

    forced = None
    m = re.match(r"sep=(.)\r?\n", text)
    if m:  # Excel's "sep=;" hint line: not shown as a row by Excel
        forced, text = m.group(1), text[m.end():]

    # Choose the delimiter (and check the header is row 1): the candidate that
    # finds the most dictionary column names in one of the first 10 rows.
    wanted = set(names_wanted)
    wanted_loose = {_norm(n) for n in names_wanted}
    best: tuple[int, str, int, list[list[str]]] | None = None
    failures: dict[str, _CsvError] = {}
    for d in ([forced] if forced else [",", ";", "\t"]):
        try:
            recs = _parse_csv(text, d)
        except _CsvError as e:
            failures[d] = e
            continue
        for i, rec in enumerate(recs[:10]):
            score = sum(1 for c in rec if _norm(_strip(c)) in wanted_loose)
            if best is None or score > best[0]:
                best = (score, d, i, recs)
    first = forced or ","
    if best is None or (best[0] == 0 and first in failures):
        e = failures[first]
        rep.add("", f"cannot be read as CSV from this row on ({e}): a quote mark (\") is not "
                "closed, or is followed by other text in the same cell", [e.row])
        return _empty_frame(file), rep.problems()
    score, delimiter, header_at, records = best
    if score == 0:
        shown = ", ".join(f"'{_strip(c)}'" for c in records[0][:5] if _strip(c))
        rep.add("", "none of the data dictionary's column names is in row 1"
                + (f" (found {shown}{' ...' if len(records[0]) > 5 else ''})" if shown else "")
                + ": is this the right file, with the column names in row 1?", [1])
        return _empty_frame(file, delimiter), rep.problems()
    if header_at > 0 and score >= 2:
        rep.add("", f"the column names are in row {header_at + 1}, not in row 1: delete the "
                "rows above the header", [header_at + 1])
        return _empty_frame(file, delimiter), rep.problems()
    if delimiter != "," and not forced:
        rep.add("", f"is separated by {_DELIMITER_NAMES[delimiter]}, not commas; it was read as "
                f"{'semicolon' if delimiter == ';' else 'tab'}-separated", severity="warning")

    header = records[0]
    names = [_strip(h) for h in header]
    for h, n in zip(header, names):
        if n and h != n:
            rep.add("", "spaces around column names were removed", [1], severity="warning", found=n)

    other = _other_table(set(names), names_wanted)
    if other is not None:
        rep.add("", f"has the columns of {other}, not of this file: were the two files "
                "given in the wrong order?")
        return _empty_frame(file, delimiter), rep.problems()

    # Column names: duplicates, reserved, missing, unknown.
    positions: dict[str, list[int]] = {}
    for j, n in enumerate(names):
        if n:
            positions.setdefault(n, []).append(j)
    for n, js in positions.items():
        if len(js) > 1:
            rep.add(n, f"appears {len(js)} times in the header (spreadsheet columns "
                    f"{', '.join(_letters(j) for j in js)}); each column must appear once", [1])
    if SOURCE_ROW in positions:
        rep.add(SOURCE_ROW, "is a name reserved by the loader (it adds the row number under "
                "this name); rename or delete this column", [1])
    loose = {_norm(n): n for n in positions if n not in wanted}
    for c in names_wanted:
        if c not in positions:
            near = loose.get(_norm(c))
            hint = (f"(found '{near}': column names must be written exactly, in lower case "
                    "with '_')") if near else ""
            rep.add(c, "column is missing from the header", hint=hint)
    for n in positions:
        if n not in wanted and n != SOURCE_ROW:
            rep.add(n, "unknown column (not in the data dictionary); kept but not used", [1],
                    severity="warning")

    # Data rows.
    width = len(names)
    kept: list[tuple[int, list[str]]] = []
    blank: list[int] = []
    for k, rec in enumerate(records[1:], start=2):
        cells = rec
        if all(_strip(c) == "" for c in cells):
            blank.append(k)
            continue
        if len(cells) > width:
            if any(_strip(c) for c in cells[width:]):
                rep.add("", "has more cells than the header has columns (a stray delimiter, "
                        "or a ',' inside a cell that is not quoted?)", k)
            cells = cells[:width]
        elif len(cells) < width:
            rep.add("", "has fewer cells than the header has columns (cells deleted or "
                    "shifted?)", k)
            cells = cells + [""] * (width - len(cells))
        same = sum(1 for j, c in enumerate(cells) if names[j] and _strip(c) == names[j])
        if same >= max(2, len(positions) // 2):
            rep.add("", "repeats the header row (were two exports pasted together?); "
                    "the row was skipped", k)
            continue
        kept.append((k, cells))
    last = kept[-1][0] if kept else 0
    inner_blank = [k for k in blank if k < last]
    if inner_blank:
        rep.add("", "empty row, skipped", inner_blank, severity="warning")

    # Unnamed columns.
    for j, n in enumerate(names):
        if not n:
            rows_with_values = [k for k, cells in kept if _strip(cells[j])]
            if rows_with_values:
                rep.add("", f"spreadsheet column {_letters(j)} has values but no name in the "
                        "header; it was ignored", rows_with_values, severity="warning")

    if not kept:
        rep.add("", "has no data rows (only a header)")
        return _empty_frame(file, delimiter), rep.problems()

    # Cells: strip spaces (warning for dictionary columns).
    use = [(js[0], n) for n, js in positions.items() if n != SOURCE_ROW]
    columns_data: dict[str, list[str]] = {}
    for j, n in use:
        values = []
        for k, cells in kept:
            v = cells[j]
            s = _strip(v)
            if s != v and n in wanted:
                rep.add(n, "spaces before or after the value were removed", k, severity="warning")
            values.append(s)
        columns_data[n] = values
    ordered = [n for n in names_wanted if n in columns_data] + [
        n for n in columns_data if n not in wanted]
    df = pd.DataFrame({n: columns_data[n] for n in ordered},
                      index=pd.Index([k for k, _ in kept], dtype="int64", name=SOURCE_ROW),
                      dtype=object)
    df.attrs.update(file=file, delimiter=delimiter, fatal=False)

    if legacy_encoding:
        rows_non_ascii = [k for k, rec in enumerate(records, start=1)
                          if any(ord(ch) > 127 for c in rec for ch in c)]
        rep.add("", "is not valid UTF-8; it was read as Windows-1252/Latin-1 (Western European). "
                "Check the accented characters in these rows, and export as 'CSV UTF-8' next time",
                rows_non_ascii, severity="warning")
    return df, rep.problems()


# ---------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_THOUSANDS_DOT = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATE_TIME = re.compile(r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?")
_OTHER_DATE = re.compile(r"\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}")
_EXCEL_SERIAL = re.compile(r"\d{5}(?:\.0+)?")
_NA_TOKENS = {"na", "n/a", "n.a.", "nan", "null", "none", "-", "--", ".", "?", "missing",
              "unknown", "nd", "n.d.", "#n/a", "not available"}
_FLAG_WORDS = {"yes", "no", "y", "n", "true", "false", "present", "absent", "with", "without",
               "1.0", "0.0", "+", "-"}


@dataclass
class _Cell:
    """The outcome of parsing one cell."""

    value: object = None
    rule: str = ""       # non-empty: error
    hint: str = ""
    note: str = ""       # non-empty: warning (value kept)


def _na_hint(col: Column) -> str:
    if col.required:
        return "(this column is required: enter the value)"
    return "(leave the cell empty when there is nothing to record)"


def _number_hint(s: str, col: Column) -> str:
    if s.casefold() in _NA_TOKENS:
        return _na_hint(col)
    if s[:1] in "<>≤≥":
        return f"(a bound such as '{s}' is not a number: enter the value to analyse)"
    if s.startswith("#"):
        return "(a spreadsheet error value: fix the formula or type the value)"
    if re.fullmatch(r"[+-]?[\d.,]+\s*[^\d\s.,].*", s):
        return "(write the number only, without a unit)"
    if "," in s:
        return ("(write numbers with a decimal point and without thousands separators, "
                "e.g. 3.5 or 1150)")
    if re.search(r"\d\s+\d", s):
        return "(remove the spaces inside the number)"
    return ""


def _parse_number(s: str, col: Column, comma_decimal: bool, comma_file: bool) -> _Cell:
    what = "must be a whole number" if col.kind == "integer" else "must be a number"
    if _NUMBER.fullmatch(s):
        v = float(s)
        note = ""
        if comma_file and _THOUSANDS_DOT.fullmatch(s):
            note = ("was read with '.' as the decimal point, but this file writes decimals with "
                    "a comma: if '.' is a thousands separator here, the value is wrong")
    elif _DECIMAL_COMMA.fullmatch(s):
        if not comma_decimal:
            return _Cell(rule=what, hint="(a comma in a number is ambiguous: use a decimal point "
                         "and no thousands separator, e.g. 3.5 or 1150)")
        v = float(s.replace(",", "."))
        note = "decimal comma read as a decimal point"
    else:
        return _Cell(rule=what, hint=_number_hint(s, col))
    if col.kind == "integer" and not v.is_integer():
        return _Cell(rule=what)
    return _Cell(value=int(v) if col.kind == "integer" else v, note=note)


def _parse_date(s: str, col: Column, today: date) -> _Cell:
    m = _ISO_DATE.fullmatch(s)
    if m:
        try:
            d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return _Cell(rule="is not a real calendar date")
        if d > today:
            return _Cell(rule="is in the future", hint="(a typing error in the year?)")
        return _Cell(value=d)
    rule = "must be a date written YYYY-MM-DD"
    if _DATE_TIME.fullmatch(s):
        hint = "(remove the time of day: keep only YYYY-MM-DD)"
    elif _EXCEL_SERIAL.fullmatch(s):
        hint = ("(looks like an Excel date serial number: format the column as a date "
                "YYYY-MM-DD before exporting)")
    elif _OTHER_DATE.fullmatch(s):
        hint = ("(write year-month-day with 2-digit month and day, e.g. 2015-03-12: in "
                "12/03/2015 the day and the month cannot be told apart)")
    elif s.casefold() in _NA_TOKENS:
        hint = _na_hint(col)
    else:
        hint = ""
    return _Cell(rule=rule, hint=hint)


def _code_hint(s: str, allowed: Sequence[str]) -> str:
    loose = [a for a in allowed if _norm(a) == _norm(s)]
    if len(loose) == 1:
        return f"(did you mean '{loose[0]}'? codes are case-sensitive)"
    prefix = [a for a in allowed if _norm(a).startswith(_norm(s))] if _norm(s) else []
    if len(prefix) == 1:
        return f"(did you mean '{prefix[0]}'?)"
    return ""


def _parse_cell(s: str, col: Column, ctx: dict) -> _Cell:
    kind = col.kind
    if kind == "text":
        return _Cell(value=s)
    if kind == "code":
        if s in col.allowed:
            return _Cell(value=s)
        hint = _code_hint(s, col.allowed) or (_na_hint(col) if s.casefold() in _NA_TOKENS else "")
        return _Cell(rule=f"must be one of {', '.join(col.allowed)}", hint=hint)
    if kind == "flag":
        if s in ("0", "1"):
            return _Cell(value=int(s))
        hint = ("(write 1 for yes/present and 0 for no/absent)" if s.casefold() in _FLAG_WORDS
                else "")
        return _Cell(rule="must be 0 or 1", hint=hint)
    if kind in ("integer", "number"):
        return _parse_number(s, col, ctx["comma_decimal"], ctx["comma_file"])
    if kind == "date":
        return _parse_date(s, col, ctx["today"])
    if kind == "list":
        rule = f"must be one or more of {', '.join(col.allowed)}, separated by ';'"
        items = [_strip(i) for i in s.split(";")]
        items = [i for i in items if i]
        bad = [i for i in items if i not in col.allowed]
        if not bad:
            return _Cell(value=";".join(items))
        if "," in s and all(_strip(i) in col.allowed for i in s.replace(";", ",").split(",") if _strip(i)):
            return _Cell(rule=rule, hint="(separate the items with ';', not ',')")
        hints = [h for h in (_code_hint(b, col.allowed) for b in bad) if h]
        return _Cell(rule=rule, hint=hints[0] if len(bad) == 1 and hints else "")
    raise ValueError(f"unknown column kind {kind!r}")  # pragma: no cover


def _fmt(x: float) -> str:
    return f"{x:.15g}"


def _typed(col: Column, values: list) -> pd.Series:
    if col.kind == "date":
        return pd.Series(pd.to_datetime([pd.Timestamp(v) if v is not None else pd.NaT for v in values]),
                         dtype="datetime64[ns]")
    if col.kind == "integer":
        return pd.Series(pd.array([v if v is not None else pd.NA for v in values], dtype="Int64"))
    if col.kind == "flag":
        if all(v is not None for v in values):
            return pd.Series(values, dtype="int64")
        return pd.Series(pd.array([v if v is not None else pd.NA for v in values], dtype="Int64"))
    if col.kind == "number":
        return pd.Series([v if v is not None else np.nan for v in values], dtype="float64")
    return pd.Series([v if v is not None else np.nan for v in values], dtype=object)


def _row_numbers(raw: pd.DataFrame) -> list[int]:
    if raw.index.name == SOURCE_ROW:
        return [int(i) for i in raw.index]
    if SOURCE_ROW in raw.columns:
        return [int(i) for i in raw[SOURCE_ROW]]
    return list(range(2, len(raw) + 2))


def _cells(raw: pd.DataFrame, name: str) -> list[str]:
    return ["" if v is None or (not isinstance(v, str) and pd.isna(v)) else _strip(str(v))
            for v in raw[name].tolist()]


def _validate_cells(raw: pd.DataFrame, columns: Sequence[Column], rep: _Report,
                    rows: list[int]) -> tuple[dict[str, pd.Series], dict[str, list[str]]]:
    """Parse every dictionary column present in ``raw``; return typed columns and the raw cells."""
    delimiter = raw.attrs.get("delimiter", ",")
    comma_decimal = delimiter != ","
    cells = {c.name: _cells(raw, c.name) for c in columns if c.name in raw.columns}
    comma_file = comma_decimal and any(
        _DECIMAL_COMMA.fullmatch(s) for c in columns if c.kind in ("integer", "number")
        for s in cells.get(c.name, ()))
    ctx = {"comma_decimal": comma_decimal, "comma_file": comma_file, "today": date.today()}
    typed: dict[str, pd.Series] = {}
    for col in columns:
        if col.name not in cells:
            continue  # read_table reports missing columns
        values = []
        for r, s in zip(rows, cells[col.name]):
            if s == "":
                if col.required:
                    rep.add(col.name, "is required but empty", r)
                values.append(None)
                continue
            cell = _parse_cell(s, col, ctx)
            if cell.rule:
                rep.add(col.name, cell.rule, r, found=s, hint=cell.hint)
                values.append(None)
                continue
            if cell.note:
                rep.add(col.name, cell.note, r, severity="warning", found=s)
            v = cell.value
            if col.kind in ("integer", "number"):
                unit = f" {col.unit}" if col.unit else ""
                if col.hard_range and not col.hard_range[0] <= v <= col.hard_range[1]:
                    lo, hi = map(_fmt, col.hard_range)
                    rep.add(col.name, f"must be between {lo} and {hi}{unit}", r, found=s)
                    v = None
                elif col.allowed and _fmt(v) not in col.allowed:
                    rep.add(col.name, f"must be one of {', '.join(col.allowed)}", r, found=s)
                    v = None
                elif col.soft_range and not col.soft_range[0] <= v <= col.soft_range[1]:
                    lo, hi = map(_fmt, col.soft_range)
                    rep.add(col.name, f"is outside the plausible range {lo} to {hi}{unit}", r,
                            severity="warning", found=s, hint="(please check the value)")
            values.append(v)
        typed[col.name] = _typed(col, values)
    return typed, cells


def _frame(raw: pd.DataFrame, columns: Sequence[Column], typed: dict[str, pd.Series],
           rows: list[int], file: str) -> pd.DataFrame:
    out = pd.DataFrame({SOURCE_ROW: pd.Series(rows, dtype="int64")})
    for col in columns:
        if col.name in typed:
            out[col.name] = typed[col.name]
    known = {c.name for c in columns}
    for name in raw.columns:
        if name not in known and name != SOURCE_ROW:
            out[name] = pd.Series(_cells(raw, name), dtype=object)
    out.attrs.update(file=file)
    return out


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def validate_cohort(raw: pd.DataFrame, *, file: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every cell and the rules across columns of the cohort table.

    ``raw`` is the output of ``read_table`` (or any frame of strings; without a
    ``source_row`` index the rows are numbered from 2). Returns the typed frame
    (cells that break a rule are NaN/NaT) and the problems. Missing columns
    are reported by ``read_table``; here the rules that need them are skipped.
    """
    file = file or raw.attrs.get("file", "cohort.csv")
    rep = _Report(file)
    rows = _row_numbers(raw)
    typed, cells = _validate_cells(raw, COHORT_COLUMNS, rep, rows)
    n = len(rows)
    idx = np.arange(n)

    def where(mask) -> list[int]:
        mask = np.asarray(pd.Series(mask).fillna(False), dtype=bool)
        return [rows[i] for i in idx[mask]]

    def filled(name: str) -> np.ndarray:
        return np.array([s != "" for s in cells[name]], dtype=bool) if name in cells else np.zeros(n, bool)

    # patient_id: unique (empty ones are reported as required).
    if "patient_id" in cells:
        ids = pd.Series(cells["patient_id"])
        dup = ids[(ids != "") & ids.duplicated(keep=False)]
        for pid, group in dup.groupby(dup, sort=False):
            rep.add("patient_id", f"patient_id '{pid}' appears {len(group)} times; each patient "
                    "must have exactly one row", [rows[i] for i in group.index])

    t = typed
    # Every date of the dictionary other than these three is an event during follow-up.
    dates = [c.name for c in COHORT_COLUMNS if c.kind == "date" and c.name in t]
    events = [c for c in dates if c not in ("sbrt_start", "last_followup", "death_date")]
    if "sbrt_start" in t:
        for c in dates:
            if c != "sbrt_start":
                rep.add_if(c, f"{c} is before sbrt_start (the start of follow-up)",
                           where(t[c] < t["sbrt_start"]))
    if "last_followup" in t:
        for c in events:
            rep.add_if(c, f"{c} is after last_followup", where(t[c] > t["last_followup"]),
                       hint="(last_followup must be on or after every event)")
        if "death_date" in t:
            rep.add_if("death_date", "death_date is after last_followup",
                    where(t["death_date"] > t["last_followup"]),
                    hint="(for a patient who died, last_followup is the date of death: set it to "
                         "death_date, otherwise the death is not counted)")
            rep.add_if("death_date", "death_date is before last_followup (the dictionary expects them "
                    "equal); the death is analysed on death_date",
                    where(t["death_date"] < t["last_followup"]), severity="warning")
    if "death_date" in t:
        for c in events:
            if c in t:
                rep.add_if(c, f"{c} is after death_date", where(t[c] > t["death_date"]))

    if "local_progression_date" in cells and "progression_date" in cells:
        rep.add_if("local_progression_date",
                "local_progression_date is filled but progression_date is empty (a local "
                "progression is also a progression: progression_date is the first progression "
                "anywhere)", where(filled("local_progression_date") & ~filled("progression_date")))
        rep.add_if("local_progression_date", "local_progression_date is before progression_date "
                "(progression_date is the first progression anywhere)",
                where(t["local_progression_date"] < t["progression_date"]))

    if "arm" in t and "tace_date" in cells:
        arm = t["arm"]
        rep.add_if("tace_date", "must be empty in the SBRT arm (no TACE)",
                where((arm == "SBRT") & filled("tace_date")))
        rep.add_if("tace_date", "is required in the SBRT+TACE arm",
                where((arm == "SBRT+TACE") & ~filled("tace_date")))

    if "progression_date" in cells:
        prog = filled("progression_date")
        if "progression_sites" in cells:
            sites = filled("progression_sites")
            rep.add_if("progression_sites", "must be empty when progression_date is empty",
                    where(sites & ~prog))
            rep.add_if("progression_sites", "is required when progression_date is filled",
                    where(~sites & prog))
        if "subsequent_therapy" in cells:
            therapy = filled("subsequent_therapy")
            rep.add_if("subsequent_therapy", "must be empty when progression_date is empty",
                    where(therapy & ~prog))
            rep.add_if("subsequent_therapy", "is empty although progression_date is filled "
                    "(treatment of the progression unknown?)", where(~therapy & prog),
                    severity="warning")
        if {"progression_sites", "local_progression_date"} <= set(t):
            in_field = t["progression_sites"].map(
                lambda v: isinstance(v, str) and "in-field" in v.split(";")).to_numpy(bool)
            lp, p = t["local_progression_date"], t["progression_date"]
            same = (lp == p).to_numpy(bool)
            comparable = (lp.notna() & p.notna()).to_numpy(bool) | ~filled("local_progression_date")
            lp_ok = lp.notna().to_numpy(bool) | ~filled("local_progression_date")
            has_sites = t["progression_sites"].notna().to_numpy(bool)
            rep.add_if("progression_sites", "includes 'in-field' (the irradiated lesion) but "
                    "local_progression_date is not the same as progression_date",
                    where(in_field & comparable & ~same), severity="warning")
            rep.add_if("progression_sites", "does not include 'in-field' although "
                    "local_progression_date is the same as progression_date",
                    where(has_sites & ~in_field & same & lp_ok), severity="warning")

    return _frame(raw, COHORT_COLUMNS, typed, rows, file), rep.problems()


def _is_rild(term: str) -> bool:
    t = term.casefold()
    return "rild" in t or "radiation-induced liver" in t or "radiation induced liver" in t


def validate_adverse_events(raw: pd.DataFrame, cohort: pd.DataFrame | None, *,
                            file: str | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Check every cell of the adverse-event table, and its agreement with the cohort.

    ``cohort`` is the typed cohort (from ``validate_cohort``); ``None`` or an
    empty frame skips the checks across files.
    """
    file = file or raw.attrs.get("file", "adverse_events.csv")
    rep = _Report(file)
    rows = _row_numbers(raw)
    typed, cells = _validate_cells(raw, ADVERSE_EVENT_COLUMNS, rep, rows)

    if "term" in cells:
        for r, term in zip(rows, cells["term"]):
            if term and _is_rild(term) and term not in RILD_TERMS:
                rep.add("term", "radiation-induced liver disease must be recorded exactly as "
                        f"{' or '.join(repr(x) for x in RILD_TERMS)}", r, found=term)

    if {"patient_id", "phase", "term", "grade"} <= set(cells):
        keys = pd.DataFrame({c: cells[c] for c in ("patient_id", "phase", "term", "grade")})
        dup = keys.duplicated(keep=False).to_numpy()
        rep.add_if("", "identical rows (same patient_id, phase, term and grade): entered twice?",
                [r for r, d in zip(rows, dup) if d], severity="warning")

    usable = (cohort is not None and len(cohort) > 0 and "patient_id" in cohort.columns)
    if usable and "patient_id" in cells:
        cohort_file = cohort.attrs.get("file", "cohort.csv")
        known = cohort.drop_duplicates("patient_id").set_index("patient_id")
        loose = {_norm(str(p)): str(p) for p in known.index}
        for r, pid in zip(rows, cells["patient_id"]):
            if pid and pid not in known.index:
                near = loose.get(_norm(pid))
                rep.add("patient_id", f"patient is not in {cohort_file}", r, found=pid,
                        hint=f"(did you mean '{near}'?)" if near else "")
        if "arm" in known.columns and "phase" in typed:
            arm = [known["arm"].get(p, np.nan) if p else np.nan for p in cells["patient_id"]]
            for r, a, ph, pid in zip(rows, arm, typed["phase"], cells["patient_id"]):
                if ph == "post-TACE" and a == "SBRT":
                    rep.add("phase", f"post-TACE event, but patient '{pid}' is in the SBRT arm "
                            f"in {cohort_file} (no TACE)", r)
        if "death_date" in known.columns and "grade" in typed:
            for r, g, pid in zip(rows, typed["grade"], cells["patient_id"]):
                if pid in known.index and pd.notna(g) and g == 5 and pd.isna(known["death_date"].get(pid)):
                    rep.add("grade", f"grade 5 (fatal) event, but patient '{pid}' has no "
                            f"death_date in {cohort_file}", r, severity="warning")

    return _frame(raw, ADVERSE_EVENT_COLUMNS, typed, rows, file), rep.problems()


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


@dataclass
class LoadedStudy:
    """Validated input: the typed tables and the warnings (for the data-quality appendix)."""

    cohort: pd.DataFrame
    adverse_events: pd.DataFrame
    warnings: list[Problem]


def _errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def check_cohort(path: str | Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and validate the cohort file; return the typed frame and all problems (no raising)."""
    raw, problems = read_table(path, COHORT_COLUMNS)
    if raw.attrs.get("fatal"):
        return _frame(raw, COHORT_COLUMNS, {}, [], raw.attrs["file"]), problems
    typed, more = validate_cohort(raw)
    return typed, problems + more


def check_adverse_events(path: str | Path, cohort: pd.DataFrame | None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and validate the adverse-event file against ``cohort``; no raising."""
    raw, problems = read_table(path, ADVERSE_EVENT_COLUMNS)
    if raw.attrs.get("fatal"):
        return _frame(raw, ADVERSE_EVENT_COLUMNS, {}, [], raw.attrs["file"]), problems
    typed, more = validate_adverse_events(raw, cohort)
    return typed, problems + more


def check_study(cohort_path: str | Path, ae_path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, list[Problem]]:
    """Both files, all problems of both (errors and warnings), without raising."""
    cohort, p1 = check_cohort(cohort_path)
    ae, p2 = check_adverse_events(ae_path, cohort)
    return cohort, ae, p1 + p2


def _finish(df: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
    if _errors(problems):
        raise DataValidationError(problems)
    df.attrs["warnings"] = [p for p in problems if p.severity != "error"]
    return df


def load_cohort(path: str | Path) -> pd.DataFrame:
    """The typed cohort; raises ``DataValidationError``. Warnings in ``attrs['warnings']``."""
    return _finish(*check_cohort(path))


def load_adverse_events(path: str | Path, cohort: pd.DataFrame) -> pd.DataFrame:
    """The typed adverse events, checked against ``cohort``; raises ``DataValidationError``."""
    return _finish(*check_adverse_events(path, cohort))


def load_study(cohort_path: str | Path, ae_path: str | Path) -> LoadedStudy:
    """Both tables, validated; raises ``DataValidationError`` listing every error of both files."""
    cohort, ae, problems = check_study(cohort_path, ae_path)
    if _errors(problems):
        raise DataValidationError(problems)
    warnings = [p for p in problems if p.severity != "error"]
    return LoadedStudy(cohort=cohort, adverse_events=ae, warnings=warnings)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.load [cohort.csv] [adverse_events.csv]``: validate, print, exit 0/1."""
    from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV

    parser = argparse.ArgumentParser(
        prog="python -m helpers.load",
        description="Check the two input files against the data dictionary (docs/data-dictionary.md).")
    parser.add_argument("cohort", nargs="?", default=str(COHORT_CSV), help="cohort CSV file")
    parser.add_argument("adverse_events", nargs="?", default=str(ADVERSE_EVENTS_CSV),
                        help="adverse-event CSV file")
    args = parser.parse_args(argv)
    try:
        study = load_study(args.cohort, args.adverse_events)
    except DataValidationError as e:
        print(e)
        if e.warnings:
            print(f"\nWarnings ({len(e.warnings)}):")
            for p in e.warnings:
                print(f"  - {p}")
        return 1
    w = study.warnings
    print(f"OK: {len(study.cohort)} patients, {len(study.adverse_events)} adverse events, "
          f"{len(w)} warning{'s' if len(w) != 1 else ''}")
    for p in w:
        print(f"  - {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
