"""Bytes to cells: decoding, delimiter and header forensics (``read_table``).

What spreadsheets do to a CSV file before a cell is typed: encodings and
byte-order marks, workbooks and archives saved as ``.csv``, the delimiter,
title rows, repeated headers, renamed, duplicated or unnamed columns and rows
with the wrong number of cells (the choices are listed in ``helpers.data.load``).
The cells come out as text, with the spreadsheet row of each record.
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.load.problems import SOURCE_ROW, Problem, _format_rows, _Report
from helpers.data.schema import TABLES, Column

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
#: Every byte but the control bytes that do not occur in text (tab, line ends, form feed, escape do).
_NOT_CONTROL = bytes(b for b in range(256) if b not in (*range(1, 9), 11, 14, 15, *range(16, 26), *range(27, 32)))


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
    controls = len(data.translate(None, _NOT_CONTROL))  # the control bytes left after deleting the others
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


#: How many lines of the file the delimiter is chosen from (the header must be in the first 10 records,
#: the space-before-quotes test looks at the first 20).
_HEAD_LINES = 64


@dataclass
class _Body:
    """The records of a file, column by column: ``columns[j]`` holds the j-th cell of every record
    (``""`` where a record is shorter), ``lengths`` the number of cells of each record."""

    columns: list[np.ndarray]
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def record(self, i: int) -> list[str]:
        return [self.columns[j][i] for j in range(int(self.lengths[i]))]

    def column(self, j: int) -> np.ndarray:
        """The j-th cells of every record (``""`` beyond a record's end or the widest record)."""
        return self.columns[j] if j < len(self.columns) else np.full(len(self), "", dtype=object)


def _body_of_records(records: list[list[str]]) -> _Body:
    lengths = np.fromiter(map(len, records), dtype=np.int64, count=len(records))
    width = int(lengths.max()) if len(records) else 0
    columns = [np.empty(len(records), dtype=object) for _ in range(width)]
    for j, col in enumerate(columns):
        col[:] = [rec[j] if j < len(rec) else "" for rec in records]
    return _Body(columns, lengths)


def _parse_fast(text: str, delimiter: str) -> _Body | None:
    """The records of ``text`` parsed by pandas' C reader, or None where it might differ from ``_parse_csv``.

    A file without quote marks, with one kind of line end (``\\n`` or ``\\r\\n``), has
    one record per line and the delimiter splits the cells: pandas then reads
    exactly what the ``csv`` module reads. The number of cells of each record
    is counted from the bytes (pandas pads short records).
    """
    if '"' in text or len(delimiter) != 1 or delimiter in "\r\n" or text.startswith("\ufeff"):
        return None
    raw = text.encode("utf-8", "surrogatepass")
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        return None  # lone carriage returns (old Mac line ends)
    b = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(b == 10)
    starts = np.concatenate(([0], ends + 1))
    if starts[-1] == len(b):
        starts = starts[:-1]  # the text ends with a line end: no record after it
    if not len(starts):
        return None
    stops = np.append(ends, len(b))[:len(starts)]
    content = stops - starts - ((stops > starts) & (b[np.maximum(stops - 1, 0)] == 13))
    code = ord(delimiter)

    def read(width: int) -> pd.DataFrame | None:
        try:
            return pd.read_csv(io.BytesIO(raw), sep=delimiter, header=None, names=range(width), dtype=str,
                               na_filter=False, quoting=csv.QUOTE_NONE, skip_blank_lines=False, engine="c",
                               low_memory=False, encoding="utf-8", encoding_errors="surrogatepass")
        except pd.errors.ParserError:  # a record longer than ``width``
            return None

    frame = None
    width = int(np.count_nonzero(b[starts[0]:stops[0]] == code)) + 1 if content[0] > 0 else 0
    if np.count_nonzero(b == code) == (width - 1) * np.count_nonzero(content > 0):
        frame = read(width)  # no record is longer than the header (pandas checks it): all are as wide
        lengths = np.where(content > 0, width, 0)
    if frame is None:  # count the cells of each record
        at = np.flatnonzero(b == code)
        lengths = np.where(content > 0, np.diff(np.searchsorted(at, np.append(starts, len(b)))) + 1, 0)
        del at
        width = int(lengths.max())
        frame = read(width)
    del b
    if frame is None or len(frame) != len(lengths):
        return None
    return _Body([frame[j].to_numpy(dtype=object) for j in range(width)], lengths)


def _head(text: str, lines: int) -> tuple[str, bool]:
    """The first ``lines`` lines of ``text`` and whether that is the whole text."""
    at = -1
    for _ in range(lines):
        at = text.find("\n", at + 1)
        if at < 0:
            return text, True
    return text[:at + 1], at + 1 == len(text)


def _choose_delimiter(text: str, candidates: Sequence[str], wanted_loose: set[str]):
    """For each candidate, parse ``text``; the best (score, delimiter, header row, records, spaced)
    and the candidates that failed. The score is the number of dictionary names in a row of the
    first 10; the first candidate with the highest score wins."""
    best: tuple[int, str, int, list[list[str]], bool] | None = None
    failures: dict[str, _CsvError] = {}
    for d in candidates:
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
    return best, failures


_ASCII_SPACES = " \t\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.strip() removes from ASCII text (no line ends in a cell)


def _strip_all(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """``_strip`` of every cell (the same array when no cell has spaces at its ends), and whether
    all cells are ASCII."""
    joined = "\x00" + "\x00".join(values.tolist()) + "\x00"
    ascii_only = joined.isascii()
    if ascii_only and not any(w in joined and (f"\x00{w}" in joined or f"{w}\x00" in joined)
                              for w in _ASCII_SPACES):
        return values, True
    return _map_unique(_strip, values), ascii_only


def _nfc_all(values: np.ndarray) -> np.ndarray:
    """``_nfc`` of every cell (the same array when all cells are ASCII)."""
    if "".join(values.tolist()).isascii():
        return values
    return _map_unique(_nfc, values)


def _map_unique(f, values: np.ndarray) -> np.ndarray:
    """``f`` applied to each distinct value once, as an object array like ``values``."""
    codes, uniques = pd.factorize(values)
    out = np.empty(len(uniques), dtype=object)
    out[:] = [f(u) for u in uniques]
    return out[codes] if len(values) else values.copy()


def _add_in_row_order(rep: _Report, items: Sequence[tuple[str, str, np.ndarray, dict]]) -> None:
    """``rep.add`` for rules checked row by row, in the order a row-by-row loop would first meet them.

    ``items`` are (column, rule, rows, keywords) in the order the rules are
    checked within one row; those without rows are left out.
    """
    order = sorted((int(rows[0]), k) for k, (_, _, rows, _) in enumerate(items) if len(rows))
    for _, k in order:
        column, rule, rows, kw = items[k]
        rep.add(column, rule, rows.tolist(), **kw)


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
    # finds the most dictionary column names in one of the first 10 rows, from
    # the first lines of the file; then the whole file is parsed once, with it.
    wanted = set(names_wanted)
    wanted_loose = {_norm(n) for n in names_wanted}
    candidates = [forced] if forced else [",", ";", "\t"]
    head, whole = _head(text, _HEAD_LINES)
    best, failures = _choose_delimiter(head, candidates, wanted_loose)
    body = None
    if best is not None and (whole or (not failures and len(best[3]) >= 20)):
        if whole:
            body = _body_of_records(best[3])
        else:
            body = None if best[4] else _parse_fast(text, best[1])
            if body is None:
                try:
                    body = _body_of_records(_parse_csv(text, best[1], best[4]))
                except _CsvError:
                    body = None
    if body is None:  # an error after the first lines, or lines that are not one record each: all candidates
        best, failures = _choose_delimiter(text, candidates, wanted_loose)
        if best is not None:
            body = _body_of_records(best[3])
    first = forced or ","
    if best is None or (best[0] == 0 and first in failures):
        e = failures[first]
        rep.add("", f"cannot be read as CSV from this row on ({e}): a quote mark (\") is not "
                "closed, or is followed by other text in the same cell", [e.row])
        return _empty_frame(file), rep.problems()
    score, delimiter, header_at, _, spaced = best
    best = None  # the head's records; the file's are in body
    if score == 0:
        row1 = body.record(0)
        shown = ", ".join(f"'{_strip(c)}'" for c in row1[:5] if _strip(c))
        rep.add("", "none of the data dictionary's column names is in row 1"
                + (f" (found {shown}{' ...' if len(row1) > 5 else ''})" if shown else "")
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

    header = body.record(0)
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

    # The data rows, column by column: cells without the spaces at their ends (all cells, to
    # tell empty rows), the number of cells of each row.
    lengths = body.lengths[1:]
    stripped, ascii_only = zip(*[_strip_all(body.columns[j][1:]) for j in range(len(body.columns))]) or ((), ())
    filled = [s != "" for s in stripped]
    nonblank = np.zeros(len(lengths), bool)
    for f in filled:
        nonblank |= f

    def any_filled(from_column: int) -> np.ndarray:
        out = np.zeros(len(lengths), bool)
        for f in filled[from_column:]:
            out |= f
        return out

    # A header that ends with a delimiter (empty names at the end) while the rows do not.
    width = len(names)
    trailing = width - len(list(itertools.dropwhile(lambda x: not x, reversed(names))))
    data_lengths = lengths[nonblank]
    if trailing and (data_lengths < width).any() and (data_lengths >= width - trailing).all() and not (
            any_filled(width - trailing) & nonblank).any():
        delim = _DELIMITER_NAMES[delimiter].split(" ")[0].rstrip("s")
        rep.add("", f"the header row ends with {trailing} extra delimiter{'s' if trailing > 1 else ''} "
                f"({delim}) that the data rows do not have; ignored", [1], severity="warning")
        width -= trailing
        names = names[:width]

    # Data rows: empty rows skipped, rows with the wrong number of cells, repeated headers.
    row_numbers = np.arange(2, len(lengths) + 2)
    too_long = nonblank & (lengths > width) & any_filled(width)
    too_short = nonblank & (lengths < width)
    same = np.zeros(len(lengths), np.int64)
    for j, n in enumerate(names):
        if n and j < len(stripped):
            same += stripped[j] == n
    repeated = nonblank & (same >= max(2, len(positions) // 2))
    _add_in_row_order(rep, [
        ("", "has more cells than the header has columns (a stray delimiter, or a ',' inside a "
             "cell that is not quoted?)", row_numbers[too_long], {}),
        ("", "has fewer cells than the header has columns (cells deleted or shifted?)",
         row_numbers[too_short], {}),
        ("", "repeats the header row (were two exports pasted together?); the row was skipped",
         row_numbers[repeated], {}),
    ])
    keep = nonblank & ~repeated
    broken = row_numbers[(too_long | too_short) & keep].tolist()
    kept_rows = row_numbers[keep]
    last = int(kept_rows[-1]) if len(kept_rows) else 0
    inner_blank = row_numbers[~nonblank & (row_numbers < last)]
    if len(inner_blank):
        rep.add("", "empty row, skipped", inner_blank.tolist(), severity="warning")

    # Unnamed columns.
    for j, n in enumerate(names):
        if not n and j < len(filled):
            rows_with_values = row_numbers[keep & filled[j]]
            if len(rows_with_values):
                rep.add("", f"spreadsheet column {_letters(j)} has values but no name in the "
                        "header; it was ignored", rows_with_values.tolist(), severity="warning")

    if not len(kept_rows):
        rep.add("", "has no data rows (only a header)")
        return _empty_frame(file, delimiter), rep.problems()

    # Cells: strip spaces (warning for dictionary columns), compose Unicode (NFC).
    use = [(js[0], n) for n, js in positions.items() if n != SOURCE_ROW and js[0] < width]
    columns_data: dict[str, np.ndarray] = {}
    for j, n in use:
        values = body.column(j)[1:][keep]
        clean = stripped[j][keep] if j < len(stripped) else values
        if n in wanted and clean is not values:
            rep.add_if(n, "spaces before or after the value were removed",
                       kept_rows[clean != values].tolist(), severity="warning")
        composed = clean if j < len(ascii_only) and ascii_only[j] else _nfc_all(clean)
        if composed is not clean and n in wanted:
            changed = np.flatnonzero(composed != clean)
            if len(changed):
                v0 = clean[changed[0]]
                mark = next((ch for ch in v0 if unicodedata.combining(ch)), "")
                what = (f"'{unicodedata.normalize('NFC', v0)}' written with a separate "
                        f"U+{ord(mark):04X} {unicodedata.name(mark, 'COMBINING MARK')}") if mark else f"'{v0}'"
                rep.add(n, "letters with accents are written as a letter followed by a combining "
                        f"accent (decomposed Unicode, as macOS writes them; e.g. {what}); they were "
                        "read as the composed letters (NFC), so that equal-looking values are equal",
                        kept_rows[changed].tolist(), severity="warning")
        columns_data[n] = composed
    del body, stripped
    ordered = [n for n in names_wanted if n in columns_data] + [
        n for n in columns_data if n not in wanted]
    df = pd.DataFrame({n: columns_data[n] for n in ordered},
                      index=pd.Index(kept_rows, dtype="int64", name=SOURCE_ROW), copy=False)
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
