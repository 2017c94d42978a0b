"""What a reader sees: one formatter (``fmt``), clinical labels (``labels``), figures and tables for the notebooks (``figures``, ``display``, ``plots_*``), the analysis notes (``notes``) and the manuscript's numbers (``manuscript``).
"""
