"""The input data: reading and validating the two files (``load``), the data dictionary (``schema``), derived variables and endpoints (``derive``), eligibility (``eligibility``), the synthetic cohort and its check against the paper (``synthetic``, ``synthetic_check``) and the published numbers (``published``).
"""
