"""The synthetic default cohort, beside the analysis: the generator calibrated to the paper's aggregates
(``generator``; ``python -m helpers.synthetic --out data`` or ``make data``), the outcome model whose effect sizes
it searches (``effects``: the smallest giving the paper's Figure 3 pattern) and its check against the
published numbers (``check``, shown in notebook 00). It uses the data and statistics layers; nothing of the
analysis uses it.
"""
