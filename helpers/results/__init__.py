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
from helpers.results.numbers import KEY_COLUMNS, Number, NumberTable, number, read_numbers, write_numbers
from helpers.results.store import read_index, read_result, result_exists, start, write_result

__all__ = ["KEY_COLUMNS", "Number", "NumberTable", "number", "read_index", "read_numbers", "read_result",
           "result_exists", "start", "write_numbers", "write_result"]
