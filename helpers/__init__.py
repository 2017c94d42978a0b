"""Computation for the recurrent-HCC SBRT vs SBRT+TACE report.

Notebooks narrate and call these modules; everything that computes a number
lives here and is unit-tested under ``tests/``.
"""
