"""The results layer: every number of the report, where it lives and which cell made it.

``build/results/`` holds

- ``numbers.csv`` — the long table of every number the report quotes, keyed
  like ``data/published.csv`` and naming the notebook and cell that computed
  it (:mod:`helpers.results.numbers`; rows built by :mod:`helpers.results.rows`);
- the wide per-topic tables (``km_rates.csv``, ``cox.csv``, ``balance.csv``, ...)
  for people who want them, written by :func:`write_result`;
- ``index.csv`` — every results file with the notebook and cell that wrote it
  (:mod:`helpers.results.store`);
- ``published_vs_reproduced.csv`` — the ledger, a join of ``numbers.csv`` with
  the published numbers (:mod:`helpers.results.ledger`).

The manuscript reads numbers by key (:class:`NumberTable`), never by parsing
a results file; only this package builds or reads a key.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from helpers.results.numbers import KEY_COLUMNS, Number, NumberTable, number, read_numbers, write_numbers
from helpers.results.store import read_index, read_result, result_exists, start, write_table

__all__ = ["KEY_COLUMNS", "Number", "NumberTable", "number", "read_index", "read_numbers", "read_result",
           "result_exists", "start", "write_numbers", "write_result", "write_table"]


def write_result(df: pd.DataFrame, name: str, build: str | os.PathLike | None = None, cell: str | None = None,
                 numbers: list[dict] | None = None) -> Path:
    """Write the table ``df`` as ``results/<name>.csv`` (:func:`write_table`) and the rows of ``numbers.csv``
    it holds (``numbers``, from :mod:`helpers.results.rows`; :func:`write_numbers`), with one origin: the
    running notebook and ``cell`` (default: the executing cell's label)."""
    path = write_table(df, name, build, cell)
    if numbers is not None:
        write_numbers(numbers, build, results_file=name, cell=cell)
    return path
