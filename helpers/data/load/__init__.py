"""Read and validate the two input files against the data dictionary.

The data dictionary is ``helpers/data/schema.py`` (rendered as
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
``load_study(cohort_path, ae_path, validated=None) -> LoadedStudy`` (raises ``DataValidationError``;
``validated``: the tables ``save_validated`` kept for the same bytes, used instead of validating again),
``load_cohort``, ``load_adverse_events``; ``check_study`` / ``check_cohort`` /
``check_adverse_events`` do the same but return the problems instead of raising;
the building blocks ``read_table``, ``validate_cohort``,
``validate_adverse_events``; ``Problem``, ``problems_frame``. Command line::

    python -m helpers.data.load data/cohort.csv data/adverse_events.csv

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

Layout
------
=====================  ==========================================================
``problems``           ``Problem``, ``DataValidationError``, the collecting report
``read``               bytes to cells: decoding, delimiter, header forensics
``cells``              typed cell parsing: numbers, dates, codes, ids
``rules``              rules across columns and files (cohort, adverse events)
this ``__init__``      the public API: ``check_*``, ``load_*``, ``LoadedStudy``
``__main__``           the command line
=====================  ==========================================================
"""
from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.data.load.cells import _frame
from helpers.data.load.problems import (
    MAX_ROWS_SHOWN,
    MAX_VALUES_SHOWN,
    SOURCE_ROW,
    DataValidationError,
    Problem,
    input_summary,
    problems_frame,
)
from helpers.data.load.read import read_table
from helpers.data.load.rules import validate_adverse_events, validate_cohort
from helpers.data.schema import ADVERSE_EVENT_COLUMNS, COHORT_COLUMNS
from helpers.results.store import file_sha256 as _sha256

__all__ = [
    "Problem", "DataValidationError", "LoadedStudy",
    "read_table", "validate_cohort", "validate_adverse_events",
    "check_cohort", "check_adverse_events", "check_study",
    "load_cohort", "load_adverse_events", "load_study", "save_validated",
    "problems_frame", "input_summary",
    "MAX_ROWS_SHOWN", "MAX_VALUES_SHOWN", "SOURCE_ROW",
]


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


def save_validated(study: LoadedStudy, sha256: tuple[str, str], target: str | Path) -> None:
    """Keep ``study``, validated from files with these SHA-256 (cohort, adverse events), in ``target``.

    ``load_study(..., validated=target)`` returns it for the same bytes without
    validating them again (the pipeline validates its snapshot once per run).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with open(partial, "wb") as f:
        pickle.dump({"sha256": tuple(sha256), "study": study}, f, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(target)


def load_study(cohort_path: str | Path, ae_path: str | Path, *,
               validated: str | Path | None = None) -> LoadedStudy:
    """Both tables, validated; raises ``DataValidationError`` listing every error of both files.

    ``validated``: a file written by ``save_validated``. When it exists and was
    made from files with the same SHA-256 as ``cohort_path`` and ``ae_path``,
    its tables and warnings are returned as they were validated; otherwise
    (no such file, other bytes) the files are read and validated.
    """
    if validated is not None and Path(validated).is_file():
        with open(validated, "rb") as f:
            kept = pickle.load(f)
        if kept["sha256"] == (_sha256(cohort_path), _sha256(ae_path)):
            return kept["study"]
    cohort, ae, problems = check_study(cohort_path, ae_path)
    if _errors(problems):
        raise DataValidationError(problems)
    warnings = [p for p in problems if p.severity != "error"]
    return LoadedStudy(cohort=cohort, adverse_events=ae, warnings=warnings)
