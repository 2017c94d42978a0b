"""What the analysis could not do as planned, in words a clinician can act on.

Degenerate data (an arm without events, a covariate with one level, nobody
matched, ...) do not stop the analysis: the estimate is reported as not
estimable, with the reason, in the results files. :func:`analysis_notes`
collects those reasons from ``build/results/`` into one table, shown in the
report's data-quality appendix, so that a reader never has to find an
empty cell and guess why.
"""
from __future__ import annotations

import os

import pandas as pd

from helpers.paths import results_dir
from helpers.report.fmt import join_words, not_estimable
from helpers.report.labels import term_label, variable_label
from helpers.results import NumberTable, read_result, result_exists
from helpers.stats.survival import logrank_reason

NOTE_COLUMNS = ["step", "where", "note"]
COHORT_NAMES = {"before": "before matching", "after": "after matching"}


def _read(name: str, build: str | os.PathLike | None) -> pd.DataFrame | None:
    return read_result(name, build) if (results_dir(build) / f"{name}.csv").exists() else None








def matching_notes(propensity_notes: pd.DataFrame | None, numbers: NumberTable | None) -> list[dict]:
    """Propensity-model notes (single-level covariates, separation, ...) and unmatched treated patients
    (the numbers ``n_treated_unmatched`` and ``n_treated_with_controls`` of ``results/numbers.csv``)."""
    rows = []
    if propensity_notes is not None:
        rows += [{"step": "propensity model", "where": "notebook 02", "note": n}
                 for n in propensity_notes["note"].dropna()]
    unmatched = numbers.find("n_treated_unmatched") if numbers is not None else None
    if unmatched is not None and len(unmatched):
        dropped = int(unmatched["value"].iloc[0])
        kept = int(numbers.find("n_treated_with_controls")["value"].sum())
        if dropped and not kept:
            rows.append({"step": "matching", "where": "notebook 02",
                         "note": "No treated patient had a control inside the caliper: the matched cohort is "
                                 "empty, and every after-matching estimate is not estimable."})
        elif dropped:
            rows.append({"step": "matching", "where": "notebook 02",
                         "note": f"{dropped} of {dropped + kept} treated patients had no control inside the "
                                 "caliper and are not in the matched cohort."})
    return rows


def balance_notes(balance: pd.DataFrame | None) -> list[dict]:
    """Which test Table 1 used where the χ² approximation is not valid, and what could not be tested."""
    if balance is None or balance.empty:
        return []
    rows = []
    per_var = balance.groupby(["cohort", "variable"], sort=False)["test"].first().reset_index()
    for cohort, block in per_var.groupby("cohort", sort=False):
        where = f"Table 1, {COHORT_NAMES.get(cohort, cohort)}"
        fisher = block.loc[block["test"].astype(str).str.startswith("Fisher"), "variable"].tolist()
        if fisher:
            rows.append({"step": "balance", "where": where,
                         "note": f"Fisher's exact test for {len(fisher)} of {len(block)} variables "
                                 f"(small expected counts): {join_words([variable_label(v) for v in fisher])}."})
        for test, vars_ in block[block["test"].astype(str).str.startswith("not testable")].groupby("test")["variable"]:
            rows.append({"step": "balance", "where": where,
                         "note": f"{join_words([variable_label(v) for v in vars_])}: {test}."})
    return rows


def logrank_notes(logrank: pd.DataFrame | None) -> list[dict]:
    """Log-rank tests that could not be computed (no events, an empty arm)."""
    if logrank is None:
        return []
    rows = []
    for r in logrank[logrank["p_value"].isna()].itertuples():
        rows.append({"step": "log-rank test", "where": f"{r.endpoint}, {COHORT_NAMES.get(r.cohort, r.cohort)}",
                     "note": f"{not_estimable(logrank_reason(r.n, r.events))}."})
    return rows


def cox_notes(cox: pd.DataFrame | None) -> list[dict]:
    """Cox terms reported as not estimable, grouped by term and reason."""
    if cox is None:
        return []
    bad = cox[cox["hr"].isna() & cox["note"].notna()]
    rows = []
    for (model, term, note), block in bad.groupby(["model", "term", "note"], sort=False):
        where = join_words([f"{e} {COHORT_NAMES.get(c, c)}" for c, e in zip(block["cohort"], block["endpoint"])])
        rows.append({"step": f"Cox, {model}", "where": where, "note": f"{term_label(term)}: {note}."})
    return rows


def cutoff_notes(cutoff_events: pd.DataFrame | None) -> list[dict]:
    """How many events of the eligible patients were after the data cut-off (and so censored).

    >>> ev = pd.DataFrame({"event": ["deaths", "progressions", "local progressions"],
    ...                    "n_after_cutoff": [4, 3, 1], "cutoff": ["2025-09-30"] * 3})
    >>> cutoff_notes(ev)[0]["note"]  # doctest: +NORMALIZE_WHITESPACE
    '4 deaths, 3 progressions and 1 local progression of the eligible patients were after the data cut-off
    (2025-09-30); they are censored at the cut-off in every count, table and comparison.'
    """
    if cutoff_events is None:
        return []
    late = cutoff_events[cutoff_events["n_after_cutoff"] > 0]
    if late.empty:
        return []
    words = [f"{n} {event if n != 1 else event.removesuffix('s')}"
             for n, event in zip(late["n_after_cutoff"].astype(int), late["event"])]
    return [{"step": "data cut-off", "where": "notebook 01",
             "note": f"{join_words(words)} of the eligible patients were after the data cut-off "
                     f"({cutoff_events['cutoff'].iloc[0]}); they are censored at the cut-off in every count, "
                     "table and comparison."}]


#: The results files of notebook 06 that carry a reason for an estimate not made:
#: file -> (step, columns that say where, column(s) holding the reason).
ROBUSTNESS_NOTE_SOURCES = {
    "matched_analyses": ("matched-data analysis", ["endpoint", "analysis"], ["note"]),
    "ph_test": ("proportional-hazards test", ["endpoint", "cohort", "variable"], ["note"]),
    "rmst": ("restricted mean survival time", ["endpoint", "cohort", "arm"], ["note"]),
    "evalues": ("E-value", ["endpoint", "cohort"], ["note"]),
    "iptw_hr": ("weighting (IPTW)", ["endpoint", "estimand"], ["note"]),
    "weighted_km": ("weighted Kaplan-Meier", ["endpoint", "analysis", "arm"], ["note"]),
    "matching_grid": ("matching-settings grid", ["endpoint", "cell"], ["note"]),
    "competing_risk_tests": ("competing risks (local control)", ["cohort"], ["gray_note", "shr_note"]),
}


def robustness_notes(tables: dict[str, pd.DataFrame | None]) -> list[dict]:
    """The reasons notebook 06 gives for its estimates not made, one row per step and reason.

    ``tables`` maps the names of :data:`ROBUSTNESS_NOTE_SOURCES` to their results tables (``None``
    where a file does not exist, e.g. notebook 06 was not run). Rows with the same reason are
    merged, naming every place it applies, so a reason repeated over the grid's cells is read once.

    >>> grid = pd.DataFrame({"endpoint": ["OS", "OS", "PFS"], "cell": ["0.02 SD; 1:1"] * 2 + ["none; 1:1"],
    ...                      "note": ["nobody matched", "nobody matched", None]})
    >>> robustness_notes({"matching_grid": grid})
    [{'step': 'matching-settings grid', 'where': 'OS 0.02 SD; 1:1', 'note': 'Not estimable (nobody matched).'}]
    """
    rows = []
    for name, (step, where_cols, note_cols) in ROBUSTNESS_NOTE_SOURCES.items():
        table = tables.get(name)
        if table is None or table.empty:
            continue
        cols = [c for c in where_cols if c in table.columns]
        places: dict[str, list[str]] = {}  # reason -> places, in the table's order
        for note_col in (c for c in note_cols if c in table.columns):
            bad = table[table[note_col].notna() & (table[note_col].astype(str).str.strip() != "")]
            where = bad[cols].astype(str).map(lambda v: COHORT_NAMES.get(v, v)).agg(" ".join, axis=1)
            for note, place in zip(bad[note_col], where):
                reason = str(note).strip().rstrip(".")
                if not reason.lower().startswith("not estimable"):
                    reason = not_estimable(reason)
                places.setdefault(reason[0].upper() + reason[1:] + ".", []).append(place)
        rows += [{"step": step, "where": join_words(list(dict.fromkeys(p))), "note": reason}
                 for reason, p in places.items()]
    return rows


def analysis_notes(build: str | os.PathLike | None = None) -> pd.DataFrame:
    """Every estimate the analysis could not make as planned, with the reason.

    Reads ``cutoff_events``, ``propensity_notes``, ``numbers`` (the matching counts),
    ``balance``, ``logrank``, ``cox`` and notebook 06's tables (:data:`ROBUSTNESS_NOTE_SOURCES`) from
    ``<build>/results`` (those that exist) and returns one
    row per note: ``step``, ``where`` (which table, endpoint or cohort) and
    ``note``. An empty table means everything was estimable.

    Examples
    --------
    >>> lr = pd.DataFrame({"cohort": ["after"], "endpoint": ["OS"], "chi2": [0.0], "df": [0],
    ...                    "p_value": [float("nan")], "n": [104], "events": [0]})
    >>> logrank_notes(lr)
    [{'step': 'log-rank test', 'where': 'OS, after matching', 'note': 'not estimable (no events).'}]
    """
    rows = (cutoff_notes(_read("cutoff_events", build))
            + matching_notes(_read("propensity_notes", build),
                             NumberTable.read(build) if result_exists("numbers", build) else None)
            + balance_notes(_read("balance", build))
            + logrank_notes(_read("logrank", build))
            + cox_notes(_read("cox", build))
            + robustness_notes({name: _read(name, build) for name in ROBUSTNESS_NOTE_SOURCES}))
    return pd.DataFrame(rows, columns=NOTE_COLUMNS)
