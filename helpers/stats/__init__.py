"""The statistics, each reproducing an R call: survival (``survival``: Kaplan-Meier, log-rank, Cox), propensity matching (``matching``), Table 1 balance (``balance``), Table 2 patterns of progression (``progression``) and toxicity (``toxicity``).
"""
