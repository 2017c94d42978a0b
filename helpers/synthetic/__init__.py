"""The synthetic default cohort, beside the analysis: the generator calibrated to the paper's aggregates
(``generator``; ``python -m helpers.synthetic --out data`` or ``make data``) and its check against the
published numbers (``check``, shown in notebook 00). It uses the data and statistics layers; nothing of the
analysis uses it.
"""
