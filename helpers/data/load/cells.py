"""Typed cell parsing: numbers, dates, codes, flags and text, one column at a time.

The decimal mark and the day/month order are decided per column from the
whole column, never by a silent guess; every repair names an example
"before -> after" (the choices are listed in ``helpers.data.load``).
``_validate_cells`` types every column of a table and ``_frame`` builds the
typed frame with its ``source_row`` column.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from helpers.data.load.problems import SOURCE_ROW, _Report
from helpers.data.load.read import _nfc, _norm, _strip
from helpers.data.schema import Column

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

    def merge(self, other: _Marks) -> _Marks:
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


def _marks_of(strs: pd.Series, forms: dict[str, np.ndarray], rows: _Rows, column: str) -> _Marks:
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
            marks.dot = (rows.first(i), v, column)
        elif mark == "," and marks.comma is None:
            marks.comma = (rows.first(i), v, column)
        if marks.dot and marks.comma:
            break
    return marks


def _example(where: tuple, column: bool = False) -> str:
    """``row 2 '15.3'`` (with ``column 'x', `` first when ``column`` and the column is known)."""
    return (f"column '{where[2]}', " if column and len(where) > 2 else "") + f"row {where[0]} '{where[1]}'"


def _parse_numbers(col: Column, strs: pd.Series, rows: _Rows, rep: _Report,
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
        rep.add(name, what, rows.at(idx), found=strs.iloc[idx],
                hint="(a comma in a number is ambiguous: use a decimal point and no thousands "
                     "separator, e.g. 3.5 or 1150)")
    elif len(idx):
        values[idx] = strs.iloc[idx].str.replace(",", ".", regex=False).astype(float).to_numpy()
        rep.add(name, f"decimal comma read as a decimal point (e.g. '{strs.iat[idx[0]]}' → "
                f"{_fmt(values[idx[0]])})", rows.at(idx), severity="warning",
                found=strs.iloc[idx])

    # Digits grouped in thousands: unambiguous (1,234,567; 1'785.9; 1.786,5; 1 786).
    by_sep: dict[str, list[int]] = {}
    for i in np.flatnonzero(forms["grouped"]):
        v = strs.iat[i]
        m = _GROUPED.fullmatch(v)
        sep, dec = m.group("sep"), m.group("dec")
        if dec == "," and comma_file:
            bad[i] = True
            rep.add(name, what, rows.at([i]), found=v, hint="(a comma in a number is ambiguous: use a "
                    "decimal point and no thousands separator, e.g. 3.5 or 1150)")
            continue
        values[i] = float(v.replace(sep, "").replace(",", "."))
        by_sep.setdefault(sep, []).append(i)
    for sep, idx in by_sep.items():
        v0 = strs.iat[idx[0]]
        rep.add(name, f"{_SEPARATOR_NAMES[sep]} was read as a thousands separator (e.g. '{v0}' → "
                f"{_fmt(values[idx[0]])}); check these values", rows.at(idx),
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
            at = rows.at(ii)
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
        rep.add(name, what, rows.at([i]), found=v, hint=hint)

    # Whole numbers, then the dictionary's ranges and allowed values (first broken rule only).
    ok = ~np.isnan(values) & ~bad
    unit = f" {col.unit}" if col.unit else ""

    def reject(mask: np.ndarray, rule: str, **kw) -> None:
        nonlocal ok
        ii = np.flatnonzero(mask & ok)
        if len(ii):
            rep.add(name, rule, rows.at(ii), found=strs.iloc[ii], **kw)
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
                        rows.at(ii), severity="warning", found=strs.iloc[ii],
                        hint="(please check the value)")
    return values, bad


# --- dates: day/month order decided per column; never a silent guess --------------------


def _dmy_order(strs: pd.Series, rows: _Rows) -> tuple[str | None, dict[str, tuple[int, str]]]:
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
            shown["dmy"] = (rows.first(i), strs.iat[i])
        elif b > 12 >= a and "mdy" not in shown:
            shown["mdy"] = (rows.first(i), strs.iat[i])
    order = "both" if len(shown) == 2 else next(iter(shown), None)
    return order, shown


def _parse_dates(col: Column, strs: pd.Series, rows: _Rows, rep: _Report,
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
        rep.add(name, "is in the future", rows.at(beyond), found=strs.iloc[beyond],
                hint="(a typing error in the year?)")
        bad[beyond] = True
        not_real = np.setdiff1d(not_real, beyond)
    if len(not_real):
        rep.add(name, "is not a real calendar date", rows.at(not_real),
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
            rep.add(name, rule, rows.at([i]), found=v, hint=hint)

    def where_shown(o: str) -> str:
        return _example(shown[o], source != "this column")

    if repaired:
        v0 = strs.iat[repaired[0]]
        words = "day/month/year" if order == "dmy" else "month/day/year"
        rep.add(name, f"dates written {words} were read in that order, as {source} shows "
                f"({where_shown(order)}): e.g. '{v0}' → {out.iat[repaired[0]]:%Y-%m-%d}",
                rows.at(repaired), severity="warning", found=strs.iloc[repaired])
    if unreal:
        bad[unreal] = True
        rep.add(name, "is not a real calendar date", rows.at(unreal), found=strs.iloc[unreal])
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
        rep.add(name, rule, rows.at(undecided), found=strs.iloc[undecided], hint=hint)
    if two_digit:
        bad[two_digit] = True
        m = _DMY.fullmatch(strs.iat[two_digit[0]])
        yy = int(m.group(4))
        rep.add(name, rule, rows.at(two_digit), found=strs.iloc[two_digit],
                hint=f"(a two-digit year is ambiguous: '{strs.iat[two_digit[0]]}' may be in "
                     f"{1900 + yy} or {2000 + yy}; write dates as YYYY-MM-DD with a 4-digit year)")
    if serial:
        bad[serial] = True
        v0 = strs.iat[serial[0]]
        d1900 = pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(float(v0)))
        d1904 = pd.Timestamp("1904-01-01") + pd.Timedelta(days=int(float(v0)))
        rep.add(name, rule, rows.at(serial), found=strs.iloc[serial],
                hint=f"(looks like an Excel date serial number: '{v0}' is {d1900:%Y-%m-%d} in "
                     f"Excel's usual 1900 date system but {d1904:%Y-%m-%d} in the 1904 system of "
                     "old Mac workbooks; format the column as a date YYYY-MM-DD before exporting)")

    future = np.flatnonzero((out > today).to_numpy(bool) & ~bad)
    if len(future):
        rep.add(name, "is in the future", rows.at(future), found=strs.iloc[future],
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
        missing = np.isnan(arr)
        return pd.Series(pd.arrays.IntegerArray(np.where(missing, 0, arr).astype("int64"), missing))
    if col.kind == "number":
        return pd.Series(np.asarray(values, dtype=float), dtype="float64")
    out = np.array(values, dtype=object).reshape(-1)
    out[pd.isna(out)] = np.nan  # None (no value) as NaN
    return pd.Series(out, dtype=object)


def _row_numbers(raw: pd.DataFrame) -> list[int]:
    if raw.index.name == SOURCE_ROW:  # integers: tolist() gives Python ints, without a Python loop
        return [int(i) for i in raw.index] if raw.index.dtype.kind not in "iu" else raw.index.tolist()
    if SOURCE_ROW in raw.columns:
        return [int(i) for i in raw[SOURCE_ROW]] if raw[SOURCE_ROW].dtype.kind not in "iu" else \
            raw[SOURCE_ROW].tolist()
    return list(range(2, len(raw) + 2))


def _cells(raw: pd.DataFrame, name: str) -> list[str]:
    return ["" if v is None or (not isinstance(v, str) and pd.isna(v)) else _nfc(_strip(str(v)))
            for v in raw[name].tolist()]


class _Rows:
    """The spreadsheet rows of the distinct values of a column (numbered in order of first appearance).

    Cells are parsed once per distinct value; ``at(ii)`` gives the rows of
    values ``ii`` (for a message), ``first(i)`` the first row of value ``i``.
    """

    def __init__(self, codes: np.ndarray, rows: np.ndarray, n_values: int):
        self._codes, self._all, self._n = codes, rows, n_values
        self._rows = self._bounds = None  # rows grouped by value, made when first needed

    def first(self, i: int) -> int:
        return int(self._all[np.argmax(self._codes == i)])

    def at(self, ii) -> list[int]:
        ii = np.atleast_1d(np.asarray(ii, dtype=np.int64))
        if len(ii) > 64:
            return self._all[np.isin(self._codes, ii)].tolist()
        if self._rows is None:
            order = np.argsort(self._codes, kind="stable")
            self._rows = self._all[order]
            self._bounds = np.searchsorted(self._codes[order], np.arange(self._n + 1))
        return [int(r) for i in ii for r in self._rows[self._bounds[i]:self._bounds[i + 1]]]


def _distinct(values: np.ndarray, rows: np.ndarray) -> tuple[pd.Series, np.ndarray, _Rows]:
    """The distinct values of a column in order of first appearance, each cell's value number, their rows."""
    codes, uniques = pd.factorize(values)
    return pd.Series(uniques, dtype=object), codes, _Rows(codes, rows, len(uniques))


def _context(raw: pd.DataFrame, columns: Sequence[Column], distinct: dict[str, tuple]) -> dict:
    """What the whole file says about its number and date formats (decimal mark, day/month)."""
    forms, marks = {}, {}
    file_marks = _Marks()
    orders = {}
    file_orders: dict[str, tuple[int, str, str]] = {}
    for col in columns:
        if col.name not in distinct:
            continue
        strs, _, rows = distinct[col.name]
        if col.kind in ("integer", "number", "flag"):
            forms[col.name] = _classify_numbers(strs)
            marks[col.name] = _marks_of(strs, forms[col.name], rows, col.name)
            file_marks = file_marks.merge(marks[col.name])
        elif col.kind == "date":
            order, shown = _dmy_order(strs, rows)
            shown = {o: (r, v, col.name) for o, (r, v) in shown.items()}
            orders[col.name] = (order, shown)
            for o, where in shown.items():
                file_orders.setdefault(o, where)
    file_order = "both" if len(file_orders) == 2 else next(iter(file_orders), None)
    return {"delimiter": raw.attrs.get("delimiter", ","), "forms": forms, "marks": marks,
            "file_marks": file_marks, "orders": orders,
            "file_order": (file_order, file_orders), "today": date.today()}


def _validate_cells(raw: pd.DataFrame, columns: Sequence[Column], rep: _Report,
                    rows: list[int]) -> tuple[dict[str, pd.Series], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Parse every dictionary column present in ``raw``.

    Returns the typed columns, the raw cells and, per column, which cells
    broke a rule (so that rules across columns skip them: one message per
    cause). Cells of rows with the wrong number of cells (``attrs['broken_rows']``)
    are not checked: the row is already reported. Each distinct value of a
    column is parsed once (``_distinct``); text columns are taken as they are.
    """
    if raw.attrs.get("fatal") is False:  # from read_table: already stripped, NFC strings
        cells = {c.name: raw[c.name].to_numpy(dtype=object) for c in columns if c.name in raw.columns}
    else:
        cells = {c.name: np.array(_cells(raw, c.name), dtype=object).reshape(-1)
                 for c in columns if c.name in raw.columns}
    row_array = np.asarray(rows, dtype=np.int64)
    broken = np.isin(row_array, list(raw.attrs.get("broken_rows", ())))
    strs: dict[str, np.ndarray] = {}
    for name, values in cells.items():
        if broken.any() and name != "patient_id":
            values = values.copy()
            values[broken] = ""
        strs[name] = values
    kinds = {c.name: c.kind for c in columns}
    distinct = {name: _distinct(values, row_array) for name, values in strs.items() if kinds[name] != "text"}
    ctx = _context(raw, columns, distinct)
    typed: dict[str, pd.Series] = {}
    bad: dict[str, np.ndarray] = {}
    for col in columns:
        if col.name not in cells:
            continue  # read_table reports missing columns (or the column may be absent)
        values_all = strs[col.name]
        empty = values_all == ""
        if col.required:
            rep.add_if(col.name, "is required but empty", row_array[empty & ~broken].tolist())
        if col.kind == "text":
            values, bad_col = values_all.copy(), np.zeros(len(values_all), bool)
            values[empty] = None
            if col.name == "patient_id" and not "".join(values_all.tolist()).isascii():
                for i in np.flatnonzero(~empty):
                    why = _describe_invisible(values[i])
                    if why:
                        rep.add(col.name, why, rows[i], hint="(retype the identifier: the "
                                "character does not show in the spreadsheet, but makes the "
                                "identifier differ from the same-looking one)")
                        bad_col[i] = True
                        values[i] = None
            typed[col.name] = _typed(col, values)
            bad[col.name] = bad_col | broken
            continue
        ser, codes, urows = distinct[col.name]
        if col.kind in ("integer", "number", "flag"):
            values, bad_col = _parse_numbers(col, ser, urows, rep, ctx)
            values = values[codes]
        elif col.kind == "date":
            values, bad_col = _parse_dates(col, ser, urows, rep, ctx)
            values = values.to_numpy()[codes]
        else:
            values, bad_col = np.full(len(ser), None, dtype=object), np.zeros(len(ser), bool)
            for i in np.flatnonzero((ser != "").to_numpy(bool)):
                v = ser.iat[i]
                cell = _parse_cell(v, col)
                if cell.rule:
                    rep.add(col.name, cell.rule, urows.at([i]), found=v, hint=cell.hint)
                    bad_col[i] = True
                    continue
                values[i] = cell.value
            values = values[codes]
        typed[col.name] = _typed(col, values)
        bad[col.name] = bad_col[codes] | broken
    return typed, cells, bad


def _frame(raw: pd.DataFrame, columns: Sequence[Column], typed: dict[str, pd.Series],
           rows: list[int], file: str) -> pd.DataFrame:
    data = {SOURCE_ROW: pd.Series(rows, dtype="int64")}
    absent = set(raw.attrs.get("absent", ()))
    for col in columns:
        if col.name in typed:
            data[col.name] = typed[col.name]
        elif col.name in absent:  # an optional column left out: as if all its cells were empty
            data[col.name] = _typed(col, [None] * len(rows) if col.kind not in (
                "integer", "number", "flag", "date") else np.full(len(rows), np.nan))
    known = {c.name for c in columns}
    for name in raw.columns:
        if name not in known and name != SOURCE_ROW:
            data[name] = pd.Series(_cells(raw, name), dtype=object)
    out = pd.DataFrame(data, copy=False)  # the columns as they are (one block each), not copied into one
    out.attrs.update(file=file)
    return out
