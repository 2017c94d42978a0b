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
  undefined) with a warning that lists the rows holding non-ASCII characters;
  a file pasted together from UTF-8 and Windows-1252 parts is decoded row by
  row (warning naming the rows of each; a row mixing both is an error).
  Workbooks (.xlsx, .xls, .ods), zip/gzip/bzip2/xz/7z/zstd archives, PDFs,
  files with NUL bytes (UTF-16 without BOM?) or many control bytes are errors
  that say what the file is.
- Delimiter: detected from the header row (the one of ``,`` ``;`` tab that
  yields the most dictionary column names). ``;`` and tab are accepted with a
  warning saying what was detected. An Excel ``sep=;`` first line is honoured.
  A space after the delimiter before quoted cells (``a, "b"``) is skipped with
  a warning; so is a delimiter that ends the header row but not the data rows.
- Numbers, decided per column (``_parse_numbers``): ``3,5`` in a ``;``- or
  tab-separated file is a decimal comma (warning); a single group of three
  digits after ``,`` or ``.`` (``1,786``, ``12.500``) is read with the decimal
  mark the column uses elsewhere, else the one the file uses, else (comma
  file) '.'; when undecidable it is an error naming both readings. Other
  thousands groupings (``1,234,567``, ``1'785.9``, ``1.786,5``, ``1 786``) are
  removed with a warning; every repair names an example "before → after".
  In a comma-separated file a decimal comma is an error. Flags (``pvtt``)
  accept the spellings integers accept (``1``, ``1.0``).
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
  is ambiguous: "never happened" or "forgotten"?), except the ones the
  dictionary marks ``may_be_absent`` (``sbrt_end``), which are then typed as
  all-empty; a name with a unit (``afp (ng/mL)``) or in another case is
  reported on the missing column with the fix; unknown columns are kept
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
  Day/month/year (or month/day/year) with a 4-digit year is read, with a
  warning, when a day above 12 in the column (else in the file's other date
  columns) shows the order; otherwise it is an error naming both readings.
  Two-digit years and Excel serial numbers (1900 or 1904 system?) are errors.
- One cause, one message: a cell that breaks a rule is left out of the rules
  across columns and files (a ``-`` in ``progression_date`` does not also make
  ``progression_sites`` "required"); the cells of a row with the wrong number
  of cells are not checked (the row is reported).
- Patients: cells are NFC-normalised (warning when a value was decomposed);
  a ``patient_id`` with an invisible character inside is an error naming it;
  identifiers equal after case-folding are an error when the rows are
  otherwise identical, else a warning; scientific-notation identifiers are a
  warning; an unknown adverse-event identifier gets a hint for letter case,
  lost leading zeros and scientific notation.
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
import itertools
import re
import unicodedata
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


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

_EDGE_SPACE = re.compile(r"^[\s\u200b\ufeff]+|[\s\u200b\ufeff]+$")
_DELIMITER_NAMES = {",": "commas (',')", ";": "semicolons (';')", "\t": "tabs"}


def _strip(value: str) -> str:
    s = value.strip()  # the same whitespace as the regular expression class \s
    if s and (s[0] in "\u200b\ufeff" or s[-1] in "\u200b\ufeff"):
        return _EDGE_SPACE.sub("", s)
    return s


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


_SAVE_AS_CSV = "(in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)')"
#: Leading bytes of files that are not text, and what they are.
_MAGIC = (
    (b"\x1f\x8b", "is gzip-compressed (.gz), not a CSV file: decompress it first and give the "
                  ".csv file it contains"),
    (b"BZh", "is bzip2-compressed (.bz2), not a CSV file: decompress it first and give the "
             ".csv file it contains"),
    (b"\xfd7zXZ\x00", "is xz-compressed (.xz), not a CSV file: decompress it first and give the "
                      ".csv file it contains"),
    (b"7z\xbc\xaf\x27\x1c", "is a 7-Zip archive (.7z), not a CSV file: extract the .csv file "
                            "from it first"),
    (b"(\xb5/\xfd", "is zstd-compressed (.zst), not a CSV file: decompress it first"),
    (b"%PDF-", "is a PDF document, not a CSV file: export the data from the spreadsheet or "
               "database as 'CSV UTF-8'"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "is an old-style Excel workbook (.xls), not a CSV file "
                                          + _SAVE_AS_CSV),
)
#: A non-ASCII character encoded as UTF-8 (a lead byte and its continuation bytes).
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n|$)")


@dataclass
class _Encoding:
    """How the text was decoded: ``legacy`` lines (0-based) read as Windows-1252, ``utf8``
    lines with non-ASCII characters read as UTF-8 (both only filled when not all UTF-8)."""

    legacy: list[int]
    utf8: list[int]
    broken: list[int]  # lines mixing both encodings


def _zip_kind(data: bytes) -> str:
    import zipfile  # noqa: PLC0415

    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        names = []
    if any(n.startswith("xl/") for n in names):
        return "is an Excel workbook (.xlsx), not a CSV file " + _SAVE_AS_CSV
    if "content.xml" in names:
        return ("is a LibreOffice/OpenOffice spreadsheet (.ods), not a CSV file (File > Save As > "
                "'Text CSV', character set UTF-8)")
    csvs = [n for n in names if n.lower().endswith((".csv", ".txt", ".tsv"))]
    if names and not any(n.startswith(("word/", "ppt/")) for n in names):
        inside = f" (it contains {', '.join(repr(n) for n in csvs[:3])})" if csvs else ""
        return f"is a zip archive{inside}, not a CSV file: extract the .csv file from it first"
    return ("is a zipped spreadsheet (Excel .xlsx or LibreOffice .ods) or another zip file, not a "
            "CSV file " + _SAVE_AS_CSV)


def _decode(data: bytes, rep: _Report) -> tuple[str | None, _Encoding | None]:
    """Bytes to text. Returns (text or None if unreadable, how non-UTF-8 lines were read)."""
    if data[:4] == b"PK\x03\x04":
        rep.add("", _zip_kind(data))
        return None, None
    for magic, what in _MAGIC:
        if data.startswith(magic):
            rep.add("", what)
            return None, None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            rep.add("", "starts like a UTF-16 file but cannot be decoded as UTF-16; "
                    "save it as 'CSV UTF-8'")
            return None, None
        rep.add("", "is UTF-16 encoded (Excel 'Unicode Text'); it was read as such, "
                "but 'CSV UTF-8' is the expected format", severity="warning")
        return text, None
    if b"\x00" in data:
        head = data[:4000]
        odd = head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4
        rep.add("", "contains NUL bytes, so it is not a plain-text CSV file "
                + ("(it looks like UTF-16 text without a byte-order mark)" if odd else
                   "(a binary file: a database, an image, a compressed file?)")
                + "; save it as 'CSV UTF-8'")
        return None, None
    controls = sum(data.count(bytes([b])) for b in (*range(1, 9), 11, 14, 15, *range(16, 26), *range(27, 32)))
    if controls > max(10, len(data) // 100):
        rep.add("", f"contains {controls} control bytes that do not occur in text: it is a "
                "binary file (a database, an image, a compressed file?), not a CSV file; "
                "export the data as 'CSV UTF-8'")
        return None, None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    # Not UTF-8 as a whole: decode line by line, so that a file pasted together from a
    # UTF-8 and a Windows-1252 export keeps the accents of both parts.
    legacy, utf8, broken, parts = [], [], [], []
    for i, m in enumerate(_LINE.finditer(data)):
        line = m.group()
        if not line:
            continue
        try:
            parts.append(line.decode("utf-8"))
            if any(b > 127 for b in line):
                utf8.append(i)
        except UnicodeDecodeError:
            if _UTF8_SEQUENCE.search(line):
                broken.append(i)
            legacy.append(i)
            try:
                parts.append(line.decode("cp1252"))
            except UnicodeDecodeError:
                parts.append(line.decode("latin-1"))
    return "".join(parts), _Encoding(legacy, utf8, broken)


class _CsvError(Exception):
    def __init__(self, message: str, row: int):
        super().__init__(message)
        self.row = row  # the spreadsheet row (record) that could not be read


def _parse_csv(text: str, delimiter: str, initial_space: bool = False,
               ends: list[int] | None = None) -> list[list[str]]:
    """The records of ``text``; ``ends`` (if given) receives each record's last line (1-based)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True,
                        skipinitialspace=initial_space)
    records = []
    try:
        for rec in reader:
            records.append(rec)
            if ends is not None:
                ends.append(reader.line_num)
    except csv.Error as e:
        raise _CsvError(str(e), len(records) + 1) from None
    return records


_SPACE_QUOTE = re.compile(r'[ \t]+"')


def _space_before_quotes(records: list[list[str]]) -> bool:
    """Do cells start with spaces followed by a quote (``a, "b"``: a space after the delimiter)?"""
    return any(_SPACE_QUOTE.match(c) for rec in records[:20] for c in rec[1:])


def _records_of_lines(ends: list[int], lines: list[int], skipped: int) -> list[int]:
    """Spreadsheet rows (1-based records) holding the 0-based file ``lines``."""
    import bisect  # noqa: PLC0415

    rows = {bisect.bisect_left(ends, line + 1 - skipped) + 1 for line in lines if line >= skipped}
    return sorted(r for r in rows if r <= len(ends))


def _other_table(names: set[str], columns: Sequence[str]) -> str | None:
    """The name of another dictionary table whose columns are all in ``names``."""
    for table, cols in TABLES.items():
        wanted = {c.name for c in cols}
        if wanted != set(columns) and wanted <= names and not set(columns) <= names:
            return table
    return None


def _loose_name(name: str) -> str:
    """A column name without case, punctuation and spaces (``Age (years)`` -> ``ageyears``)."""
    return re.sub(r"[\W_]+", "", name).casefold()


_UNIT_SUFFIX = re.compile(r"\s*[(\[][^)\]]*[)\]]\s*$")


def _near_names(names: Sequence[str], wanted: Sequence[Column | str]) -> dict[str, tuple[str, str]]:
    """Header names that are a dictionary name written differently: {wanted: (found, why)}."""
    out: dict[str, tuple[str, str]] = {}
    used: set[str] = set()
    for c in wanted:
        name = c if isinstance(c, str) else c.name
        unit = "" if isinstance(c, str) else c.unit
        if name in names:
            continue
        for n in names:
            if not n or n in used:
                continue
            base = _UNIT_SUFFIX.sub("", n)
            if base != n and base and (_loose_name(base) == _loose_name(name) or (
                    _loose_name(name).startswith(_loose_name(base)) and len(_loose_name(base)) >= 3)):
                why = (f"(found '{n}': the column name carries a unit; rename the column '{name}'"
                       + (f", with the values in {unit} as the data dictionary says" if unit else "")
                       + ")")
                out[name] = (n, why)
                used.add(n)
                break
            if _norm(n) == _norm(name) or _loose_name(n) == _loose_name(name):
                out[name] = (n, f"(found '{n}': column names must be written exactly, in lower "
                                "case with '_')")
                used.add(n)
                break
    return out


def _nfc(value: str) -> str:
    return value if value.isascii() else unicodedata.normalize("NFC", value)


def read_table(path: str | Path, columns: Sequence[Column | str]) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a CSV file as text and check its shape (encoding, delimiter, header, rows).

    Returns the cells as stripped, NFC-normalised strings (index: spreadsheet
    row numbers, named ``source_row``; ``attrs``: ``file``, ``delimiter``,
    ``fatal``, ``broken_rows`` (rows with the wrong number of cells, whose
    cells are not checked further) and ``absent`` (optional columns that are
    not in the header)) and the problems. Cells are not checked here (see
    ``validate_cohort``). When the file cannot be read at all
    (``attrs['fatal']``), the frame is empty. The file is only read, never
    written.
    """
    path = Path(path)
    file = path.name
    names_wanted = [c if isinstance(c, str) else c.name for c in columns]
    may_be_absent = {c.name for c in columns if not isinstance(c, str) and c.may_be_absent}
    rep = _Report(file)

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        rep.add("", f"file not found ({path})")
        return _empty_frame(file), rep.problems()
    except OSError as e:
        rep.add("", f"cannot be read ({e.strerror or e}; {path})")
        return _empty_frame(file), rep.problems()

    text, encoding = _decode(data, rep)
    if text is None:
        return _empty_frame(file), rep.problems()
    if _strip(text) == "":
        rep.add("", "the file is empty (no header, no data)")
        return _empty_frame(file), rep.problems()

    forced, skipped = None, 0
    m = re.match(r"sep=(.)\r?\n", text)
    if m:  # Excel's "sep=;" hint line: not shown as a row by Excel
        forced, text, skipped = m.group(1), text[m.end():], 1

    # Choose the delimiter (and check the header is row 1): the candidate that
    # finds the most dictionary column names in one of the first 10 rows.
    wanted = set(names_wanted)
    wanted_loose = {_norm(n) for n in names_wanted}
    best: tuple[int, str, int, list[list[str]], bool] | None = None
    failures: dict[str, _CsvError] = {}
    for d in ([forced] if forced else [",", ";", "\t"]):
        try:
            recs = _parse_csv(text, d)
            spaced = _space_before_quotes(recs)
            if spaced:
                recs = _parse_csv(text, d, initial_space=True)
        except _CsvError as e:
            failures[d] = e
            continue
        for i, rec in enumerate(recs[:10]):
            score = sum(1 for c in rec if _norm(_strip(c)) in wanted_loose)
            if best is None or score > best[0]:
                best = (score, d, i, recs, spaced)
    first = forced or ","
    if best is None or (best[0] == 0 and first in failures):
        e = failures[first]
        rep.add("", f"cannot be read as CSV from this row on ({e}): a quote mark (\") is not "
                "closed, or is followed by other text in the same cell", [e.row])
        return _empty_frame(file), rep.problems()
    score, delimiter, header_at, records, spaced = best
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
    if spaced:
        d = "," if delimiter == "," else ";" if delimiter == ";" else "tab"
        rep.add("", f"has a space after the delimiter before quoted cells (e.g. '{d} \"...\"'); "
                "the spaces were skipped so that the quotes are read as quotes (export without "
                "the spaces next time)", severity="warning")

    header = records[0]
    names = [_nfc(_strip(h)) for h in header]
    for h, n in zip(header, names):
        if n and _strip(h) != h:
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
    near = _near_names([n for n in positions if n not in wanted], columns)
    absent = []
    for c in names_wanted:
        if c not in positions:
            if c in may_be_absent and c not in near:
                absent.append(c)  # the dictionary allows leaving this column out
                continue
            found, hint = near.get(c, ("", ""))
            rep.add(c, "column is missing from the header", hint=hint)
    explained = {found for found, _ in near.values()}
    for n in positions:
        if n not in wanted and n != SOURCE_ROW and n not in explained:
            rep.add(n, "unknown column (not in the data dictionary); kept but not used", [1],
                    severity="warning")

    # A header that ends with a delimiter (empty names at the end) while the rows do not.
    width = len(names)
    trailing = width - len(list(itertools.dropwhile(lambda x: not x, reversed(names))))
    data_recs = [rec for rec in records[1:] if any(_strip(c) for c in rec)]
    if trailing and any(len(rec) < width for rec in data_recs) and all(
            width - trailing <= len(rec) and not any(_strip(c) for c in rec[width - trailing:])
            for rec in data_recs):
        delim = _DELIMITER_NAMES[delimiter].split(" ")[0].rstrip("s")
        rep.add("", f"the header row ends with {trailing} extra delimiter{'s' if trailing > 1 else ''} "
                f"({delim}) that the data rows do not have; ignored", [1], severity="warning")
        width -= trailing
        names = names[:width]

    # Data rows.
    kept: list[tuple[int, list[str]]] = []
    blank: list[int] = []
    broken: list[int] = []
    for k, rec in enumerate(records[1:], start=2):
        cells = rec
        if all(_strip(c) == "" for c in cells):
            blank.append(k)
            continue
        if len(cells) > width:
            if any(_strip(c) for c in cells[width:]):
                rep.add("", "has more cells than the header has columns (a stray delimiter, "
                        "or a ',' inside a cell that is not quoted?)", k)
                broken.append(k)
            cells = cells[:width]
        elif len(cells) < width:
            rep.add("", "has fewer cells than the header has columns (cells deleted or "
                    "shifted?)", k)
            broken.append(k)
            cells = cells + [""] * (width - len(cells))
        same = sum(1 for j, c in enumerate(cells) if names[j] and _strip(c) == names[j])
        if same >= max(2, len(positions) // 2):
            rep.add("", "repeats the header row (were two exports pasted together?); "
                    "the row was skipped", k)
            if broken and broken[-1] == k:
                broken.pop()
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

    # Cells: strip spaces (warning for dictionary columns), compose Unicode (NFC).
    use = [(js[0], n) for n, js in positions.items() if n != SOURCE_ROW and js[0] < width]
    columns_data: dict[str, list[str]] = {}
    for j, n in use:
        values = [cells[j] for _, cells in kept]
        stripped = [_strip(v) for v in values]
        if n in wanted:
            spaced_rows = [k for (k, _), v, s in zip(kept, values, stripped) if s != v]
            rep.add_if(n, "spaces before or after the value were removed", spaced_rows,
                       severity="warning")
        composed = [_nfc(v) for v in stripped]
        changed = [(k, v) for (k, _), v, c in zip(kept, stripped, composed) if v != c]
        if changed and n in wanted:
            k0, v0 = changed[0]
            mark = next((ch for ch in v0 if unicodedata.combining(ch)), "")
            what = (f"'{unicodedata.normalize('NFC', v0)}' written with a separate "
                    f"U+{ord(mark):04X} {unicodedata.name(mark, 'COMBINING MARK')}") if mark else f"'{v0}'"
            rep.add(n, "letters with accents are written as a letter followed by a combining "
                    f"accent (decomposed Unicode, as macOS writes them; e.g. {what}); they were "
                    "read as the composed letters (NFC), so that equal-looking values are equal",
                    [k for k, _ in changed], severity="warning")
        columns_data[n] = composed
    ordered = [n for n in names_wanted if n in columns_data] + [
        n for n in columns_data if n not in wanted]
    df = pd.DataFrame({n: columns_data[n] for n in ordered},
                      index=pd.Index([k for k, _ in kept], dtype="int64", name=SOURCE_ROW),
                      dtype=object)
    df.attrs.update(file=file, delimiter=delimiter, fatal=False, broken_rows=broken, absent=absent)

    if encoding is not None:
        ends: list[int] = []
        _parse_csv(text, delimiter, spaced, ends)
        legacy_rows = _records_of_lines(ends, encoding.legacy, skipped)
        utf8_rows = _records_of_lines(ends, encoding.utf8, skipped)
        broken_rows = _records_of_lines(ends, encoding.broken, skipped)
        if broken_rows:
            rep.add("", "mixes UTF-8 and Windows-1252 encoded characters within the same row, so "
                    "its accented characters cannot be read reliably: retype them, and export "
                    "the file in one piece as 'CSV UTF-8'", broken_rows)
        elif utf8_rows:
            rep.add("", "mixes two encodings (pasted together from two exports?): "
                    f"UTF-8 in {_format_rows(utf8_rows)}, Windows-1252 in "
                    f"{_format_rows(legacy_rows)}; each row was read in its own encoding. Check the accented "
                    "characters, and export the file in one piece as 'CSV UTF-8' next time",
                    legacy_rows, severity="warning")
        else:
            rep.add("", "is not valid UTF-8; it was read as Windows-1252/Latin-1 (Western "
                    "European). Check the accented characters in these rows, and export as "
                    "'CSV UTF-8' next time", legacy_rows, severity="warning")
    return df, rep.problems()


# ---------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
#: One group of three digits after '.' or ',': a thousands separator or a decimal mark?
_AMBIGUOUS = re.compile(r"[+-]?[1-9]\d{0,2}[.,]\d{3}")
#: Digits in groups of three (``1,234,567``, ``1'785.9``, ``1 786,5``), maybe with decimals.
_GROUPED = re.compile(r"(?P<sign>[+-]?)(?P<head>[1-9]\d{0,2})(?P<sep>[,.'’ \u00a0\u202f\u2009])\d{3}"
                      r"(?:(?P=sep)\d{3})*(?:(?P<dec>[.,])\d+)?")
_SEPARATOR_NAMES = {",": "','", ".": "'.'", "'": "the apostrophe", "’": "the apostrophe",
                    " ": "the space", "\u00a0": "the non-breaking space",
                    "\u202f": "the narrow non-breaking space", "\u2009": "the thin space"}
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATE_TIME = re.compile(r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?")
_OTHER_DATE = re.compile(r"\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}")
#: Day and month in either order, then a 4-digit (or 2-digit) year.
_DMY = re.compile(r"(\d{1,2})([./\-])(\d{1,2})\2(\d{4}|\d{2})")
_EXCEL_SERIAL = re.compile(r"\d{5}(?:\.0+)?")
_NA_TOKENS = {"na", "n/a", "n.a.", "nan", "null", "none", "-", "--", ".", "?", "missing",
              "unknown", "nd", "n.d.", "#n/a", "not available"}
_FLAG_WORDS = {"yes", "no", "y", "n", "true", "false", "present", "absent", "with", "without",
               "+", "-"}


@dataclass
class _Cell:
    """The outcome of parsing one cell."""

    value: object = None
    rule: str = ""       # non-empty: error
    hint: str = ""


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
    if re.search(r"\d['’]\d", s):
        return "(write numbers without thousands separators such as the apostrophe, e.g. 1785.9)"
    if re.fullmatch(r"[+-]?[\d.,]+\s*[^\d\s.,].*", s):
        return "(write the number only, without a unit)"
    if "," in s:
        return ("(write numbers with a decimal point and without thousands separators, "
                "e.g. 3.5 or 1150)")
    if re.search(r"\d\s+\d", s):
        return "(remove the spaces inside the number)"
    return ""


def _fmt(x: float) -> str:
    return f"{x:.15g}"


# --- numbers: the decimal mark is decided per column, from the whole column ----------------


@dataclass
class _Marks:
    """Evidence of the decimal mark in a column: the first row and cell showing each mark."""

    dot: tuple[int, str, str] | None = None    # (row, cell, column)
    comma: tuple[int, str, str] | None = None

    def mark(self) -> str | None:
        """'.', ',', 'both' or None (no decimals at all)."""
        if self.dot and self.comma:
            return "both"
        return "." if self.dot else "," if self.comma else None

    def merge(self, other: "_Marks") -> "_Marks":
        return _Marks(self.dot or other.dot, self.comma or other.comma)


def _classify_numbers(strs: pd.Series) -> dict[str, np.ndarray]:
    """Masks of the forms of number in ``strs`` (non-empty stripped strings)."""
    plain = strs.str.fullmatch(_NUMBER.pattern).to_numpy(bool)
    n = len(strs)
    ambiguous = np.zeros(n, bool)
    comma_dec = np.zeros(n, bool)
    grouped = np.zeros(n, bool)
    candidates = np.flatnonzero(~plain | strs.str.contains(".", regex=False).to_numpy(bool))
    for i in candidates:
        v = strs.iat[i]
        if _AMBIGUOUS.fullmatch(v):
            ambiguous[i] = True
        elif plain[i]:
            continue
        elif _DECIMAL_COMMA.fullmatch(v):
            comma_dec[i] = True
        elif (m := _GROUPED.fullmatch(v)) and m.group("sep") != m.group("dec"):
            grouped[i] = True
    plain &= ~ambiguous
    return {"plain": plain, "ambiguous": ambiguous, "comma_dec": comma_dec, "grouped": grouped}


def _marks_of(strs: pd.Series, forms: dict[str, np.ndarray], rows: Sequence[int], column: str) -> _Marks:
    """The first cell of the column that shows '.' and the first that shows ',' as decimal mark."""
    marks = _Marks()
    dot = np.flatnonzero(forms["plain"] & strs.str.contains(".", regex=False).to_numpy(bool))
    comma = np.flatnonzero(forms["comma_dec"])
    for i in (dot[:1].tolist() + comma[:1].tolist() + np.flatnonzero(forms["grouped"]).tolist()):
        v = strs.iat[i]
        if forms["plain"][i]:
            mark = "."
        elif forms["comma_dec"][i]:
            mark = ","
        else:
            m = _GROUPED.fullmatch(v)
            multi = v.count(m.group("sep")) > 1
            mark = m.group("dec") or ({",": ".", ".": ","}.get(m.group("sep")) if multi else None)
        if mark == "." and marks.dot is None:
            marks.dot = (rows[i], v, column)
        elif mark == "," and marks.comma is None:
            marks.comma = (rows[i], v, column)
        if marks.dot and marks.comma:
            break
    return marks


def _example(where: tuple, column: bool = False) -> str:
    """``row 2 '15.3'`` (with ``column 'x', `` first when ``column`` and the column is known)."""
    return (f"column '{where[2]}', " if column and len(where) > 2 else "") + f"row {where[0]} '{where[1]}'"


def _parse_numbers(col: Column, strs: pd.Series, rows: Sequence[int], rep: _Report,
                   ctx: dict) -> tuple[np.ndarray, np.ndarray]:
    """Parse a number, integer or flag column; return (values with NaN, cell broke a rule)."""
    n = len(strs)
    values = np.full(n, np.nan)
    bad = np.zeros(n, bool)
    filled = (strs != "").to_numpy(bool)
    forms = ctx["forms"][col.name]
    comma_file = ctx["delimiter"] == ","
    name = col.name
    what = ("must be 0 or 1" if col.kind == "flag" else
            "must be a whole number" if col.kind == "integer" else "must be a number")

    plain = forms["plain"]
    values[plain] = strs[plain].astype(float).to_numpy()

    # Decimal commas (3,2): the decimal mark of the locale that wrote a ';'/tab file.
    idx = np.flatnonzero(forms["comma_dec"])
    if len(idx) and comma_file:
        bad[idx] = True
        rep.add(name, what, [rows[i] for i in idx], found=strs.iloc[idx],
                hint="(a comma in a number is ambiguous: use a decimal point and no thousands "
                     "separator, e.g. 3.5 or 1150)")
    elif len(idx):
        values[idx] = strs.iloc[idx].str.replace(",", ".", regex=False).astype(float).to_numpy()
        rep.add(name, f"decimal comma read as a decimal point (e.g. '{strs.iat[idx[0]]}' → "
                f"{_fmt(values[idx[0]])})", [rows[i] for i in idx], severity="warning",
                found=strs.iloc[idx])

    # Digits grouped in thousands: unambiguous (1,234,567; 1'785.9; 1.786,5; 1 786).
    by_sep: dict[str, list[int]] = {}
    for i in np.flatnonzero(forms["grouped"]):
        v = strs.iat[i]
        m = _GROUPED.fullmatch(v)
        sep, dec = m.group("sep"), m.group("dec")
        if dec == "," and comma_file:
            bad[i] = True
            rep.add(name, what, rows[i], found=v, hint="(a comma in a number is ambiguous: use a "
                    "decimal point and no thousands separator, e.g. 3.5 or 1150)")
            continue
        values[i] = float(v.replace(sep, "").replace(",", "."))
        by_sep.setdefault(sep, []).append(i)
    for sep, idx in by_sep.items():
        v0 = strs.iat[idx[0]]
        rep.add(name, f"{_SEPARATOR_NAMES[sep]} was read as a thousands separator (e.g. '{v0}' → "
                f"{_fmt(values[idx[0]])}); check these values", [rows[i] for i in idx],
                severity="warning")

    # One group of three digits (1,786 or 12.500): decided by the column, else by the file.
    idx = np.flatnonzero(forms["ambiguous"])
    if len(idx):
        marks: _Marks = ctx["marks"][name]
        file_marks: _Marks = ctx["file_marks"]
        mark, source = marks.mark(), "this column"
        evidence = {".": marks.dot, ",": marks.comma}
        if mark is None:
            mark, source = file_marks.mark(), "this file"
            evidence = {".": file_marks.dot, ",": file_marks.comma}
            if mark is None and comma_file:
                mark, source = ".", ""
        by_reading: dict[str, list[int]] = {}
        for i in idx:
            v = strs.iat[i]
            sep = "," if "," in v else "."
            if mark in (".", ","):
                reading = "decimal" if sep == mark else "thousands"
            else:
                reading = "undecided"
            by_reading.setdefault(f"{reading}{sep}", []).append(i)
        for key, ii in by_reading.items():
            reading, sep = key[:-1], key[-1]
            v0 = strs.iat[ii[0]]
            as_thousands, as_decimal = float(v0.replace(sep, "")), float(v0.replace(",", "."))
            at = [rows[i] for i in ii]
            shown = evidence.get(mark)
            in_file = source == "this file"
            told = (" (in a comma-separated file ',' cannot be a decimal mark)" if not source else
                    f" ({source} writes decimals with '{mark}': {_example(shown, in_file)})"
                    if shown else "")
            if reading == "undecided":
                both = ""
                if mark == "both":
                    both = (f"; {source} writes decimals both with '.' "
                            f"({_example(evidence['.'], in_file)}) and with ',' "
                            f"({_example(evidence[','], in_file)})")
                else:
                    both = "; no number in the file has decimals that tell which"
                bad[ii] = True
                rep.add(name, f"is ambiguous: '{v0}' may be {_fmt(as_thousands)} ({_SEPARATOR_NAMES[sep]} "
                        f"as a thousands separator) or {_fmt(as_decimal)} ({_SEPARATOR_NAMES[sep]} "
                        f"as the decimal mark){both}", at, found=strs.iloc[ii],
                        hint="(write numbers without thousands separators and with '.' as the "
                             f"decimal point, e.g. {_fmt(as_thousands)} or {_fmt(as_decimal)})")
            elif reading == "thousands":
                values[ii] = strs.iloc[ii].str.replace(sep, "", regex=False).astype(float).to_numpy()
                rep.add(name, f"{_SEPARATOR_NAMES[sep]} was read as a thousands separator{told}: "
                        f"'{v0}' → {_fmt(as_thousands)}", at, severity="warning",
                        found=strs.iloc[ii])
            elif sep == ",":
                values[ii] = strs.iloc[ii].str.replace(",", ".", regex=False).astype(float).to_numpy()
                rep.add(name, f"decimal comma read as a decimal point{told}: '{v0}' → "
                        f"{_fmt(as_decimal)}", at, severity="warning", found=strs.iloc[ii])
            else:
                values[ii] = strs.iloc[ii].astype(float).to_numpy()
                if file_marks.comma:
                    rep.add(name, f"was read with '.' as the decimal point{told}, but this file "
                            f"writes decimals with a comma elsewhere ({_example(file_marks.comma, True)}): "
                            "if '.' is a thousands separator here, the value is wrong", at,
                            severity="warning", found=strs.iloc[ii])

    # Everything else is not a number.
    parsed = plain | forms["comma_dec"] | forms["grouped"] | forms["ambiguous"]
    for i in np.flatnonzero(filled & ~parsed):
        v = strs.iat[i]
        bad[i] = True
        hint = _number_hint(v, col)
        if col.kind == "flag" and v.casefold() in _FLAG_WORDS:
            hint = "(write 1 for yes/present and 0 for no/absent)"
        rep.add(name, what, rows[i], found=v, hint=hint)

    # Whole numbers, then the dictionary's ranges and allowed values (first broken rule only).
    ok = ~np.isnan(values) & ~bad
    unit = f" {col.unit}" if col.unit else ""

    def reject(mask: np.ndarray, rule: str, **kw) -> None:
        nonlocal ok
        ii = np.flatnonzero(mask & ok)
        if len(ii):
            rep.add(name, rule, [rows[i] for i in ii], found=strs.iloc[ii], **kw)
            bad[ii] = True
            values[ii] = np.nan
            ok = ok & ~mask

    with np.errstate(invalid="ignore"):
        if col.kind in ("integer", "flag"):
            reject(values != np.round(values), what)
        if col.kind == "flag":
            reject((values != 0) & (values != 1), what)
        if col.hard_range:
            lo, hi = col.hard_range
            reject((values < lo) | (values > hi), f"must be between {_fmt(lo)} and {_fmt(hi)}{unit}")
        if col.allowed and col.kind != "flag":
            allowed = np.array([float(a) for a in col.allowed])
            reject(~np.isin(values, allowed), f"must be one of {', '.join(col.allowed)}")
        if col.soft_range:
            lo, hi = col.soft_range
            ii = np.flatnonzero(ok & ((values < lo) | (values > hi)))
            if len(ii):
                rep.add(name, f"is outside the plausible range {_fmt(lo)} to {_fmt(hi)}{unit}",
                        [rows[i] for i in ii], severity="warning", found=strs.iloc[ii],
                        hint="(please check the value)")
    return values, bad


# --- dates: day/month order decided per column; never a silent guess --------------------


def _dmy_order(strs: pd.Series, rows: Sequence[int]) -> tuple[str | None, dict[str, tuple[int, str]]]:
    """The order of day and month in the non-ISO dates of a column.

    Returns ('dmy' | 'mdy' | 'both' | None, {order: (row, cell) that shows it}).
    """
    shown: dict[str, tuple[int, str]] = {}
    for i in np.flatnonzero(~strs.str.fullmatch(_ISO_DATE.pattern).to_numpy(bool) & (strs != "").to_numpy(bool)):
        m = _DMY.fullmatch(strs.iat[i])
        if not m or len(m.group(4)) != 4:
            continue
        a, b = int(m.group(1)), int(m.group(3))
        if a > 12 >= b and "dmy" not in shown:
            shown["dmy"] = (rows[i], strs.iat[i])
        elif b > 12 >= a and "mdy" not in shown:
            shown["mdy"] = (rows[i], strs.iat[i])
    order = "both" if len(shown) == 2 else next(iter(shown), None)
    return order, shown


def _parse_dates(col: Column, strs: pd.Series, rows: Sequence[int], rep: _Report,
                 ctx: dict) -> tuple[pd.Series, np.ndarray]:
    """Parse a date column; return (datetime64 values, cell broke a rule)."""
    n = len(strs)
    name = col.name
    out = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    bad = np.zeros(n, bool)
    filled = (strs != "").to_numpy(bool)
    iso = strs.str.fullmatch(_ISO_DATE.pattern).to_numpy(bool)
    rule = "must be a date written YYYY-MM-DD"
    today = pd.Timestamp(ctx["today"])

    parsed = pd.to_datetime(strs[iso], format="%Y-%m-%d", errors="coerce")
    not_real = np.flatnonzero(iso)[parsed.isna().to_numpy()]
    beyond = []  # real dates that datetime64 cannot hold (years after 2262)
    for i in not_real:
        try:
            if date(*map(int, strs.iat[i].split("-"))) > ctx["today"]:
                beyond.append(i)
        except ValueError:
            pass
    if beyond:
        rep.add(name, "is in the future", [rows[i] for i in beyond], found=strs.iloc[beyond],
                hint="(a typing error in the year?)")
        bad[beyond] = True
        not_real = np.setdiff1d(not_real, beyond)
    if len(not_real):
        rep.add(name, "is not a real calendar date", [rows[i] for i in not_real],
                found=strs.iloc[not_real])
        bad[not_real] = True
    out.iloc[np.flatnonzero(iso)] = parsed.to_numpy()

    # Day/month/year (or month/day/year) with a 4-digit year: read when the order is known.
    order, shown = ctx["orders"][name]
    source = "this column"
    if order is None and ctx["file_order"][0] in ("dmy", "mdy"):
        order, shown = ctx["file_order"][0], ctx["file_order"][1]
        source = "another date column of this file"
    others = np.flatnonzero(filled & ~iso)
    repaired: list[int] = []
    undecided: list[int] = []
    two_digit: list[int] = []
    serial: list[int] = []
    unreal: list[int] = []
    for i in others:
        v = strs.iat[i]
        m = _DMY.fullmatch(v)
        if m and len(m.group(4)) == 2:
            two_digit.append(i)
        elif m and order in ("dmy", "mdy"):
            a, b, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
            d, mo = (a, b) if order == "dmy" else (b, a)
            try:
                out.iat[i] = pd.Timestamp(date(y, mo, d))
                repaired.append(i)
            except ValueError:
                unreal.append(i)
        elif m:
            undecided.append(i)
        elif _EXCEL_SERIAL.fullmatch(v):
            serial.append(i)
        else:
            bad[i] = True
            if _DATE_TIME.fullmatch(v):
                hint = "(remove the time of day: keep only YYYY-MM-DD)"
            elif _OTHER_DATE.fullmatch(v):
                hint = ("(write year-month-day with 2-digit month and day, e.g. 2015-03-12: in "
                        "12/03/2015 the day and the month cannot be told apart)")
            elif v.casefold() in _NA_TOKENS:
                hint = _na_hint(col)
            else:
                hint = ""
            rep.add(name, rule, rows[i], found=v, hint=hint)

    def where_shown(o: str) -> str:
        return _example(shown[o], source != "this column")

    if repaired:
        v0 = strs.iat[repaired[0]]
        words = "day/month/year" if order == "dmy" else "month/day/year"
        rep.add(name, f"dates written {words} were read in that order, as {source} shows "
                f"({where_shown(order)}): e.g. '{v0}' → {out.iat[repaired[0]]:%Y-%m-%d}",
                [rows[i] for i in repaired], severity="warning", found=strs.iloc[repaired])
    if unreal:
        bad[unreal] = True
        rep.add(name, "is not a real calendar date", [rows[i] for i in unreal], found=strs.iloc[unreal])
    if undecided:
        bad[undecided] = True
        if order is None and ctx["file_order"][0] == "both":
            order, shown, source = "both", ctx["file_order"][1], "this file"
        if order == "both":
            hint = (f"({source} writes dates both day/month/year ({where_shown('dmy')}) and "
                    f"month/day/year ({where_shown('mdy')}), so none of these can be read safely; "
                    "write dates as YYYY-MM-DD)")
        else:
            m = _DMY.fullmatch(strs.iat[undecided[0]])
            a, b, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
            hint = (f"(day and month cannot be told apart: '{strs.iat[undecided[0]]}' may be "
                    f"{y}-{b:02d}-{a:02d} (day/month/year) or {y}-{a:02d}-{b:02d} (month/day/year), "
                    "and no date in the file has a day above 12 to tell which; write dates as "
                    "YYYY-MM-DD)")
        rep.add(name, rule, [rows[i] for i in undecided], found=strs.iloc[undecided], hint=hint)
    if two_digit:
        bad[two_digit] = True
        m = _DMY.fullmatch(strs.iat[two_digit[0]])
        yy = int(m.group(4))
        rep.add(name, rule, [rows[i] for i in two_digit], found=strs.iloc[two_digit],
                hint=f"(a two-digit year is ambiguous: '{strs.iat[two_digit[0]]}' may be in "
                     f"{1900 + yy} or {2000 + yy}; write dates as YYYY-MM-DD with a 4-digit year)")
    if serial:
        bad[serial] = True
        v0 = strs.iat[serial[0]]
        d1900 = pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(float(v0)))
        d1904 = pd.Timestamp("1904-01-01") + pd.Timedelta(days=int(float(v0)))
        rep.add(name, rule, [rows[i] for i in serial], found=strs.iloc[serial],
                hint=f"(looks like an Excel date serial number: '{v0}' is {d1900:%Y-%m-%d} in "
                     f"Excel's usual 1900 date system but {d1904:%Y-%m-%d} in the 1904 system of "
                     "old Mac workbooks; format the column as a date YYYY-MM-DD before exporting)")

    future = np.flatnonzero((out > today).to_numpy(bool) & ~bad)
    if len(future):
        rep.add(name, "is in the future", [rows[i] for i in future], found=strs.iloc[future],
                hint="(a typing error in the year?)")
        bad[future] = True
    out[bad] = pd.NaT
    return out, bad


def _code_hint(s: str, allowed: Sequence[str]) -> str:
    loose = [a for a in allowed if _norm(a) == _norm(s)]
    if len(loose) == 1:
        return f"(did you mean '{loose[0]}'? codes are case-sensitive)"
    prefix = [a for a in allowed if _norm(a).startswith(_norm(s))] if _norm(s) else []
    if len(prefix) == 1:
        return f"(did you mean '{prefix[0]}'?)"
    return ""


def _parse_cell(s: str, col: Column) -> _Cell:
    """Parse one cell of a text, code or list column (numbers and dates: per column)."""
    kind = col.kind
    if kind == "text":
        return _Cell(value=s)
    if kind == "code":
        if s in col.allowed:
            return _Cell(value=s)
        hint = _code_hint(s, col.allowed) or (_na_hint(col) if s.casefold() in _NA_TOKENS else "")
        return _Cell(rule=f"must be one of {', '.join(col.allowed)}", hint=hint)
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


#: Characters that do not show (or show as an ordinary space) but make two identifiers differ.
_INVISIBLE_CATEGORIES = {"Cf", "Zs", "Zl", "Zp", "Cc"}
_INVISIBLE_LETTERS = {"\u034f", "\u115f", "\u1160", "\u3164", "\uffa0"}


def _invisible(value: str) -> tuple[int, str] | None:
    """(position, character) of the first invisible character inside an identifier."""
    if value.isascii():
        return None
    for i, ch in enumerate(value):
        if ch != " " and (unicodedata.category(ch) in _INVISIBLE_CATEGORIES or ch in _INVISIBLE_LETTERS):
            return i, ch
    return None


def _describe_invisible(value: str) -> str | None:
    """'contains an invisible U+200B ZERO WIDTH SPACE after 'Hépato-'', or None."""
    found = _invisible(value)
    if found is None:
        return None
    i, ch = found
    name = unicodedata.name(ch, "CONTROL CHARACTER")
    where = f"after '{value[:i]}'" if i else f"before '{value[1:]}'"
    return f"contains an invisible U+{ord(ch):04X} {name} {where}"


def _typed(col: Column, values) -> pd.Series:
    if col.kind == "date":
        return pd.Series(values, dtype="datetime64[ns]").reset_index(drop=True)
    if col.kind in ("integer", "flag"):
        arr = np.asarray(values, dtype=float)
        if col.kind == "flag" and not np.isnan(arr).any():
            return pd.Series(arr.astype("int64"))
        return pd.Series(pd.array(arr, dtype="Int64"))
    if col.kind == "number":
        return pd.Series(np.asarray(values, dtype=float), dtype="float64")
    return pd.Series([v if v is not None else np.nan for v in values], dtype=object)


def _row_numbers(raw: pd.DataFrame) -> list[int]:
    if raw.index.name == SOURCE_ROW:
        return [int(i) for i in raw.index]
    if SOURCE_ROW in raw.columns:
        return [int(i) for i in raw[SOURCE_ROW]]
    return list(range(2, len(raw) + 2))


def _cells(raw: pd.DataFrame, name: str) -> list[str]:
    return ["" if v is None or (not isinstance(v, str) and pd.isna(v)) else _nfc(_strip(str(v)))
            for v in raw[name].tolist()]


def _context(raw: pd.DataFrame, columns: Sequence[Column], cells: dict[str, list[str]],
             strs: dict[str, pd.Series], rows: list[int]) -> dict:
    """What the whole file says about its number and date formats (decimal mark, day/month)."""
    forms, marks = {}, {}
    file_marks = _Marks()
    orders = {}
    file_orders: dict[str, tuple[int, str, str]] = {}
    for col in columns:
        if col.name not in cells:
            continue
        if col.kind in ("integer", "number", "flag"):
            forms[col.name] = _classify_numbers(strs[col.name])
            marks[col.name] = _marks_of(strs[col.name], forms[col.name], rows, col.name)
            file_marks = file_marks.merge(marks[col.name])
        elif col.kind == "date":
            order, shown = _dmy_order(strs[col.name], rows)
            shown = {o: (r, v, col.name) for o, (r, v) in shown.items()}
            orders[col.name] = (order, shown)
            for o, where in shown.items():
                file_orders.setdefault(o, where)
    file_order = "both" if len(file_orders) == 2 else next(iter(file_orders), None)
    return {"delimiter": raw.attrs.get("delimiter", ","), "forms": forms, "marks": marks,
            "file_marks": file_marks, "orders": orders,
            "file_order": (file_order, file_orders), "today": date.today()}


def _validate_cells(raw: pd.DataFrame, columns: Sequence[Column], rep: _Report,
                    rows: list[int]) -> tuple[dict[str, pd.Series], dict[str, list[str]], dict[str, np.ndarray]]:
    """Parse every dictionary column present in ``raw``.

    Returns the typed columns, the raw cells and, per column, which cells
    broke a rule (so that rules across columns skip them: one message per
    cause). Cells of rows with the wrong number of cells (``attrs['broken_rows']``)
    are not checked: the row is already reported.
    """
    if raw.attrs.get("fatal") is False:  # from read_table: already stripped, NFC strings
        cells = {c.name: raw[c.name].tolist() for c in columns if c.name in raw.columns}
    else:
        cells = {c.name: _cells(raw, c.name) for c in columns if c.name in raw.columns}
    broken = np.isin(np.asarray(rows), list(raw.attrs.get("broken_rows", ())))
    strs = {}
    for name, values in cells.items():
        ser = pd.Series(values, dtype=object)
        if broken.any() and name != "patient_id":
            ser[broken] = ""
        strs[name] = ser
    ctx = _context(raw, columns, cells, strs, rows)
    typed: dict[str, pd.Series] = {}
    bad: dict[str, np.ndarray] = {}
    for col in columns:
        if col.name not in cells:
            continue  # read_table reports missing columns (or the column may be absent)
        ser = strs[col.name]
        empty = (ser == "").to_numpy(bool)
        if col.required:
            rep.add_if(col.name, "is required but empty",
                       [r for r, e, b in zip(rows, empty, broken) if e and not b])
        if col.kind in ("integer", "number", "flag"):
            values, bad_col = _parse_numbers(col, ser, rows, rep, ctx)
        elif col.kind == "date":
            values, bad_col = _parse_dates(col, ser, rows, rep, ctx)
        else:
            values, bad_col = [None] * len(ser), np.zeros(len(ser), bool)
            for i in np.flatnonzero(~empty):
                v = ser.iat[i]
                cell = _parse_cell(v, col)
                if cell.rule:
                    rep.add(col.name, cell.rule, rows[i], found=v, hint=cell.hint)
                    bad_col[i] = True
                    continue
                values[i] = cell.value
            if col.name == "patient_id":
                for i in np.flatnonzero(~empty & ~bad_col):
                    why = _describe_invisible(values[i])
                    if why:
                        rep.add(col.name, why, rows[i], hint="(retype the identifier: the "
                                "character does not show in the spreadsheet, but makes the "
                                "identifier differ from the same-looking one)")
                        bad_col[i] = True
                        values[i] = None
        typed[col.name] = _typed(col, values)
        bad[col.name] = bad_col | broken
    return typed, cells, bad


def _frame(raw: pd.DataFrame, columns: Sequence[Column], typed: dict[str, pd.Series],
           rows: list[int], file: str) -> pd.DataFrame:
    out = pd.DataFrame({SOURCE_ROW: pd.Series(rows, dtype="int64")})
    absent = set(raw.attrs.get("absent", ()))
    for col in columns:
        if col.name in typed:
            out[col.name] = typed[col.name]
        elif col.name in absent:  # an optional column left out: as if all its cells were empty
            out[col.name] = _typed(col, [None] * len(rows) if col.kind not in (
                "integer", "number", "flag", "date") else np.full(len(rows), np.nan))
    known = {c.name for c in columns}
    for name in raw.columns:
        if name not in known and name != SOURCE_ROW:
            out[name] = pd.Series(_cells(raw, name), dtype=object)
    out.attrs.update(file=file)
    return out


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


# --- identity of patients ------------------------------------------------------------------

#: A number in scientific notation, as a spreadsheet shows a long numeric identifier.
_SCIENTIFIC = re.compile(r"[+-]?\d(?:[.,]\d+)?[eE]\+?\d+")
_SCIENTIFIC_HINT = ("(the spreadsheet shows long numeric identifiers in scientific notation and "
                    "keeps only their first digits: format the patient_id column as Text, retype "
                    "or re-import the identifiers and export again)")


def _sci_value(pid: str) -> float | None:
    return float(pid.replace(",", ".")) if _SCIENTIFIC.fullmatch(pid) else None


class _IdHints:
    """Why an identifier is not among ``known``: case, leading zeros, scientific notation."""

    def __init__(self, known: Sequence[str], file: str):
        self.file = file
        self.loose = {_norm(str(p)): str(p) for p in known}
        self.zeros = {str(p).lstrip("0"): str(p) for p in known if str(p).isdigit()}
        self.numbers = {str(p): float(str(p)) for p in known if str(p).isdigit()}
        self.scientific = {str(p): v for p in known if (v := _sci_value(str(p))) is not None}

    def hint(self, pid: str) -> str:
        near = self.loose.get(_norm(pid))
        if near:
            return f"(did you mean '{near}'?)"
        if pid.isdigit() and pid.lstrip("0") in self.zeros:
            other = self.zeros[pid.lstrip("0")]
            return (f"({self.file} has '{other}': the leading zeros of one of them were lost, as "
                    "when a spreadsheet stores identifiers as numbers; format the patient_id "
                    "column as Text in both files)")
        v = _sci_value(pid)
        if v is not None:
            close = [p for p, x in self.numbers.items() if abs(x - v) <= 5e-6 * abs(v)]
            shown = f"{self.file} has '{close[0]}': " if len(close) == 1 else ""
            return (f"({shown}'{pid}' is a long number in scientific notation, of which the "
                    "spreadsheet keeps only the first digits; format the patient_id column as Text "
                    "and export again)")
        if pid.isdigit():
            close = [p for p, x in self.scientific.items() if abs(float(pid) - x) <= 5e-6 * abs(x)]
            if close:
                return (f"({self.file} has '{close[0]}', this identifier in scientific notation "
                        "with its last digits lost: format the patient_id column as Text there)")
        return ""


def _check_patient_ids(cells: dict[str, list[str]], rows: list[int], bad: dict[str, np.ndarray],
                       rep: _Report) -> set[str]:
    """Unique patients: exact duplicates, identifiers equal but for letter case, mangled numbers.

    Returns the identifiers (without their invisible characters) of rows whose
    identifier was rejected, so that the adverse-event file is not blamed for them.
    """
    ids = pd.Series(cells["patient_id"])
    ok = ~bad["patient_id"] & (ids != "").to_numpy(bool)
    rejected = set()
    for pid in ids[~ok]:  # the identifier without the invisible characters, or with spaces for them
        if pid:
            rejected.add("".join(ch for ch in pid if _invisible(ch) is None))
            rejected.add("".join(" " if _invisible(ch) and unicodedata.category(ch) == "Zs" else ch
                                 for ch in pid))
    valid = ids[ok]
    sci = valid[valid.str.fullmatch(_SCIENTIFIC.pattern)]
    dup = valid[valid.duplicated(keep=False)]
    for pid, group in dup.groupby(dup, sort=False):
        rep.add("patient_id", f"patient_id '{pid}' appears {len(group)} times; each patient "
                "must have exactly one row", [rows[i] for i in group.index],
                hint=_SCIENTIFIC_HINT if pid in set(sci) else "")
    # Identifiers equal after case-folding (SYN-0001, syn-0001): the same patient twice?
    distinct = valid.drop_duplicates()
    folded = distinct.str.casefold()
    clash = folded[folded.duplicated(keep=False)]
    others = [c for c in cells if c != "patient_id"]
    for _, group in clash.groupby(clash, sort=False):
        spellings = distinct[group.index].tolist()
        members = [i for i in valid.index if valid[i] in set(spellings)]
        at = ", ".join(f"'{valid[i]}' (row {rows[i]})" for i in members)
        same = len({tuple(cells[c][i] for c in others) for i in members}) == 1
        if same:
            rep.add("patient_id", f"patient_ids {at} differ only in letter case and the rows are "
                    "otherwise identical: the same patient entered twice", [rows[i] for i in members],
                    hint="(delete all but one of these rows)")
        else:
            rep.add("patient_id", f"patient_ids {at} differ only in letter case; they are analysed "
                    "as different patients", [rows[i] for i in members], severity="warning",
                    hint="(if they are one patient, keep one row and one spelling of the identifier)")
    if len(sci):
        rep.add("patient_id", "looks like a number in scientific notation, so its last digits "
                "may be lost", [rows[i] for i in sci.index], severity="warning",
                found=sci.tolist(), hint=_SCIENTIFIC_HINT)
    return rejected


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
    typed, cells, bad = _validate_cells(raw, COHORT_COLUMNS, rep, rows)
    n = len(rows)
    idx = np.arange(n)
    valid = {name: ~b for name, b in bad.items()}

    def where(mask, *columns: str) -> list[int]:
        """Rows where ``mask`` holds and every cell of ``columns`` is valid (no follow-on errors)."""
        mask = np.asarray(pd.Series(mask).fillna(False), dtype=bool)
        for c in columns:
            mask = mask & valid.get(c, np.ones(n, bool))
        return [rows[i] for i in idx[mask]]

    def filled(name: str) -> np.ndarray:
        return np.array([s != "" for s in cells[name]], dtype=bool) if name in cells else np.zeros(n, bool)

    rejected_ids: set[str] = set()
    if "patient_id" in cells:
        rejected_ids = _check_patient_ids(cells, rows, bad, rep)

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
                "anywhere)", where(filled("local_progression_date") & ~filled("progression_date"),
                      "local_progression_date", "progression_date"))
        rep.add_if("local_progression_date", "local_progression_date is before progression_date "
                "(progression_date is the first progression anywhere)",
                where(t["local_progression_date"] < t["progression_date"]))

    if "arm" in t and "tace_date" in cells:
        arm = t["arm"]
        rep.add_if("tace_date", "must be empty in the SBRT arm (no TACE)",
                where((arm == "SBRT") & filled("tace_date"), "tace_date"))
        rep.add_if("tace_date", "is required in the SBRT+TACE arm",
                where((arm == "SBRT+TACE") & ~filled("tace_date"), "tace_date"))

    if "progression_date" in cells:
        prog = filled("progression_date")
        if "progression_sites" in cells:
            sites = filled("progression_sites")
            rep.add_if("progression_sites", "must be empty when progression_date is empty",
                    where(sites & ~prog, "progression_date"))
            rep.add_if("progression_sites", "is required when progression_date is filled",
                    where(~sites & prog, "progression_date"))
        if "subsequent_therapy" in cells:
            therapy = filled("subsequent_therapy")
            rep.add_if("subsequent_therapy", "must be empty when progression_date is empty",
                    where(therapy & ~prog, "progression_date"))
            rep.add_if("subsequent_therapy", "is empty although progression_date is filled "
                    "(treatment of the progression unknown?)", where(~therapy & prog, "progression_date"),
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
                    where(in_field & comparable & ~same, "progression_sites", "progression_date",
                          "local_progression_date"), severity="warning")
            rep.add_if("progression_sites", "does not include 'in-field' although "
                    "local_progression_date is the same as progression_date",
                    where(has_sites & ~in_field & same & lp_ok, "progression_sites",
                          "progression_date", "local_progression_date"), severity="warning")

    out = _frame(raw, COHORT_COLUMNS, typed, rows, file)
    out.attrs["rejected_ids"] = sorted(rejected_ids)
    out.attrs["invalid_rows"] = {c: [rows[i] for i in np.flatnonzero(b)] for c, b in bad.items() if b.any()}
    return out, rep.problems()


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
    typed, cells, bad = _validate_cells(raw, ADVERSE_EVENT_COLUMNS, rep, rows)

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
        known = cohort.dropna(subset=["patient_id"]).drop_duplicates("patient_id").set_index("patient_id")
        rejected = set(cohort.attrs.get("rejected_ids", ()))
        twice = set(cohort["patient_id"][cohort["patient_id"].duplicated()].dropna())
        hints = _IdHints(list(known.index), cohort_file)
        ids = [pid if ok else "" for pid, ok in zip(cells["patient_id"], ~bad["patient_id"])]
        for r, pid in zip(rows, ids):
            if pid and pid not in known.index and pid not in rejected:
                rep.add("patient_id", f"patient is not in {cohort_file}", r, found=pid,
                        hint=hints.hint(pid))
        if "arm" in known.columns and "phase" in typed:
            arm = [known["arm"].get(p, np.nan) if p else np.nan for p in ids]
            for r, a, ph, pid in zip(rows, arm, typed["phase"], ids):
                if ph == "post-TACE" and a == "SBRT" and pid not in twice:
                    rep.add("phase", f"post-TACE event, but patient '{pid}' is in the SBRT arm "
                            f"in {cohort_file} (no TACE)", r)
        if "death_date" in known.columns and "grade" in typed:
            unsure = set(cohort.attrs.get("invalid_rows", {}).get("death_date", ()))
            for r, g, pid in zip(rows, typed["grade"], ids):
                if (pid in known.index and pid not in twice and pd.notna(g) and g == 5
                        and pd.isna(known["death_date"].get(pid))
                        and known[SOURCE_ROW].get(pid) not in unsure):
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
