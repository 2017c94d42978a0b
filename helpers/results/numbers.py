"""The long table of every number the report quotes: ``results/numbers.csv``.

One row per number, keyed like the published ledger ``data/published.csv``::

    quantity, cohort, arm, endpoint, variable, level, months   (the key; "" where a key does not apply)
    value, ci_lower, ci_upper, p_value, note                    (the statistic; note: why it is not estimable)
    notebook, cell, results_file                                (where it was computed, and the wide file with it)

Notebooks add rows with :func:`write_numbers` (the rows built by
:mod:`helpers.results.rows`); the manuscript reads them by key with
:class:`NumberTable`; the published-vs-reproduced ledger is a join of this
table with ``data/published.csv`` (:mod:`helpers.results.ledger`). No other
module builds or parses a key.

Rules: a key is unique across the table (a second cell writing the same key
is an error naming both cells); a cell that is run again replaces its own
rows (per results file); ``months`` is written as an integer where it is whole.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from helpers.paths import results_dir
from helpers.results.store import Origin, origin, read_result, write_csv

NUMBERS_NAME = "numbers"
KEY_COLUMNS = ("quantity", "cohort", "arm", "endpoint", "variable", "level", "months")
STAT_COLUMNS = ("value", "ci_lower", "ci_upper", "p_value")
NUMBERS_COLUMNS = (*KEY_COLUMNS, *STAT_COLUMNS, "note", "notebook", "cell", "results_file")


def months_key(months: object) -> str:
    """The ``months`` key as text: ``60.0`` -> ``'60'``, ``1.5`` -> ``'1.5'``, None/NaN/'' -> ``''``."""
    if months is None or months == "" or (isinstance(months, float) and math.isnan(months)):
        return ""
    m = float(months)
    return str(int(m)) if m.is_integer() else repr(m)


def key_of(quantity: str, **keys: object) -> tuple[str, ...]:
    """The full key tuple (``KEY_COLUMNS`` order) of ``quantity`` and the given keys; unknown keys are an error."""
    unknown = set(keys) - set(KEY_COLUMNS)
    if unknown:
        raise TypeError(f"unknown key column(s) {sorted(unknown)}; the keys are {', '.join(KEY_COLUMNS[1:])}")
    out = [str(quantity)]
    for col in KEY_COLUMNS[1:]:
        v = keys.get(col, "")
        out.append(months_key(v) if col == "months" else ("" if v is None else str(v)))
    return tuple(out)


def number(quantity: str, value: object, *, ci_lower: object = math.nan, ci_upper: object = math.nan,
           p_value: object = math.nan, note: object = "", **keys: object) -> dict[str, object]:
    """One row of the numbers table (not yet written): the key, the statistic and the note."""
    row: dict[str, object] = dict(zip(KEY_COLUMNS, key_of(quantity, **keys)))
    row.update(value=_float(value), ci_lower=_float(ci_lower), ci_upper=_float(ci_upper), p_value=_float(p_value),
               note="" if note is None or (isinstance(note, float) and math.isnan(note)) else str(note))
    return row


def _float(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _frame(rows: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(NUMBERS_COLUMNS))


def _duplicated_keys(df: pd.DataFrame) -> pd.DataFrame:
    return df[df.duplicated(list(KEY_COLUMNS), keep=False)]


def write_numbers(rows: Iterable[Mapping[str, object]], build: str | os.PathLike | None = None,
                  results_file: str = "", cell: str | None = None, notebook: str | None = None) -> int:
    """Add ``rows`` (from :func:`number`) to ``results/numbers.csv``; return how many were written.

    The rows name the running notebook and ``cell`` (default: the executing
    cell's label, see :func:`helpers.results.store.origin`) and
    ``results_file``, the wide results file that holds the same numbers.
    Rows the same cell wrote before for the same ``results_file`` are replaced (a cell run again).
    """
    where: Origin | None = origin(cell, notebook)
    new = _frame(rows)
    new["notebook"] = where.notebook if where else ""
    new["cell"] = where.cell if where else ""
    new["results_file"] = f"results/{results_file}.csv" if results_file else ""
    dup = _duplicated_keys(new)
    if len(dup):
        raise ValueError(f"cell {new['cell'].iloc[0]!r} writes the same key twice: "
                         f"{dup[list(KEY_COLUMNS)].drop_duplicates().to_dict('records')[:3]}")
    path = results_dir(build) / f"{NUMBERS_NAME}.csv"
    old = read_numbers(build) if path.exists() else _frame([])
    same = (old["notebook"] == new["notebook"].iloc[0]) & (old["cell"] == new["cell"].iloc[0]) & (
        old["results_file"] == new["results_file"].iloc[0]) if len(new) else None
    old = old[~same] if same is not None else old
    both = pd.concat([old, new], ignore_index=True) if len(old) else new
    dup = _duplicated_keys(both)
    if len(dup):
        first = dup.iloc[0]
        cells = sorted({f"{r.notebook}, cell {r.cell}" for r in dup.itertuples()
                        if all(getattr(r, c) == first[c] for c in KEY_COLUMNS)})
        raise ValueError(f"the number {dict(first[list(KEY_COLUMNS)])} is written by more than one cell "
                         f"({'; '.join(cells)}); each number has one origin")
    write_csv(both, path)
    return len(new)


def read_numbers(build: str | os.PathLike | None = None) -> pd.DataFrame:
    """``results/numbers.csv`` with the key and provenance columns as text and the statistics as floats."""
    text = {c: str for c in (*KEY_COLUMNS, "note", "notebook", "cell", "results_file")}
    return read_result(NUMBERS_NAME, build, dtype=text, keep_default_na=False,
                       converters={c: _float for c in STAT_COLUMNS})


@dataclass(frozen=True)
class Number:
    """One row of the numbers table: its key, statistic, note and origin."""

    key: tuple[str, ...]
    value: float
    ci_lower: float
    ci_upper: float
    p_value: float
    note: str
    origin: Origin
    results_file: str

    @property
    def quantity(self) -> str:
        return self.key[0]

    def keys(self) -> dict[str, str]:
        """The non-empty key columns, e.g. ``{'quantity': 'km_survival', 'cohort': 'after', ...}``."""
        return {c: v for c, v in zip(KEY_COLUMNS, self.key) if v != ""}

    def describe(self) -> str:
        """The row as a reader can find it: 'results/numbers.csv: quantity=km_survival, cohort=after, ...'."""
        keys = ", ".join(f"{c}={v}" for c, v in self.keys().items())
        return f"results/numbers.csv: {keys} (notebook {self.origin.notebook}, cell {self.origin.cell})"

    @property
    def missing(self) -> bool:
        return math.isnan(self.value)


class NumberTable:
    """The numbers of one build, looked up by key.

    >>> t = NumberTable.from_rows([number("n_patients", 68, cohort="after", arm="SBRT")])  # doctest: +SKIP
    >>> t.get("n_patients", cohort="after", arm="SBRT").value                               # doctest: +SKIP
    68.0
    """

    def __init__(self, df: pd.DataFrame):
        self.df = df
        # each key to its row (a later row with the same key wins), built column-wise: no row Series
        self._by_key = dict(zip(zip(*(df[c] for c in KEY_COLUMNS)), df.to_dict("records")))

    @classmethod
    def read(cls, build: str | os.PathLike | None = None) -> NumberTable:
        return cls(read_numbers(build))

    def get(self, quantity: str, **keys: object) -> Number:
        """The number with exactly this key; KeyError naming the quantity's keys on record if there is none."""
        key = key_of(quantity, **keys)
        row = self._by_key.get(key)
        if row is None:
            known = self.df.loc[self.df["quantity"] == quantity, list(KEY_COLUMNS[1:])]
            hint = (f"; recorded keys of {quantity!r} include {known.head(3).to_dict('records')}" if len(known)
                    else f"; no number {quantity!r} is recorded")
            raise KeyError(f"no number {dict(zip(KEY_COLUMNS, key))} in results/numbers.csv{hint}")
        return Number(key=key, value=row["value"], ci_lower=row["ci_lower"], ci_upper=row["ci_upper"],
                      p_value=row["p_value"], note=row["note"], origin=Origin(row["notebook"], row["cell"]),
                      results_file=row["results_file"])

    def find(self, quantity: str, **keys: object) -> pd.DataFrame:
        """Every row of ``quantity`` matching the given (partial) keys."""
        mask = self.df["quantity"] == quantity
        for col, v in keys.items():
            mask &= self.df[col] == (months_key(v) if col == "months" else str(v))
        return self.df[mask]
