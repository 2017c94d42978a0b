"""Computation for the recurrent-HCC SBRT vs SBRT+TACE report.

Notebooks narrate and call these modules; everything that computes a number
lives here and is unit-tested under ``tests/``. The folders follow the flow
of the data, each importing only those before it:

``data`` (read, validate, derive) -> ``stats`` (survival, matching, Table 1,
Table 2, toxicity) -> ``results`` (every number, its key and the cell that
made it) -> ``report`` (formatter, labels, figures, tables, the manuscript's
numbers) -> ``render`` (the manuscript). ``synthetic`` (the default cohort)
stands beside the flow; ``paths``, ``parameters`` and ``pipeline`` run it.
"""
