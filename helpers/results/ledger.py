"""Every published number beside the one this run reproduced: a join of two long tables.

The ledger ``data/published.csv`` and ``results/numbers.csv`` share their key
columns (quantity, cohort, arm, endpoint, variable, level, months). A
published row joins the number with the same key, except for three
spellings of the paper's that the join translates (and nothing else):

- ``<quantity>_ci_lower`` / ``_ci_upper``: the CI bound of ``<quantity>``
  (the ledger types each published number on its own row);
- ``n_progression``, ``n_death``, ``n_infield_recurrence``: rows of Table 2
  the text quotes by name;
- the ledger's short Table 2 and toxicity row names (``TABLE2_KEYS``,
  ``TOXICITY_KEYS``), which name the results' rows.

Nothing is recomputed: a reproduced value is always a row of the numbers
table, with the notebook and cell that computed it.
"""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from helpers.data.published import calibration_bound, load_published
from helpers.results.numbers import KEY_COLUMNS, NumberTable, months_key

#: Table 2 rows of the ledger -> the ``level`` of the ``table2_n`` numbers (keys of progression_patterns.csv).
TABLE2_KEYS = {"progression": "progressed", "single_organ": "single_organ", "liver": "single_liver",
               "in_field": "single_liver_in_field", "bone": "single_bone", "lung": "single_lung",
               "lymph_node": "single_lymph_node", "pelvis": "single_pelvis", "multiple_organ": "multiple_organ",
               "two_organs": "two_organs", "three_organs": "three_plus_organs", "therapy_single": "therapy_single",
               "therapy_multiple": "therapy_multiple", "therapy_conservative": "therapy_conservative",
               "death": "died"}
#: Toxicity rows of the ledger -> the ``level`` of the ``tox_patients`` numbers (keys of toxicity.csv).
TOXICITY_KEYS = {"acute_grade_1_2": "acute_grade_1_2", "acute_grade_3_plus": "acute_grade_3_plus", "rild": "rild_any",
                 "post_tace_epigastric_pain": "post_tace_term:Abdominal pain (epigastric)",
                 "post_tace_fever": "post_tace_term:Fever"}
#: Table 2 rows the text quotes by name -> their ``table2_n`` level.
NAMED_TABLE2_ROWS = {"n_progression": "progressed", "n_death": "died", "n_infield_recurrence": "single_liver_in_field"}
#: Published quantities that are the CI bound of another quantity.
BOUND_SUFFIXES = {"_ci_lower": "ci_lower", "_ci_upper": "ci_upper"}


def numbers_key(row: pd.Series) -> tuple[str, dict[str, str], str]:
    """The numbers-table quantity, keys and statistic column of one ledger row."""
    keys = {c: row[c] for c in KEY_COLUMNS[1:] if row[c] != ""}
    quantity, statistic = row["quantity"], "value"
    for suffix, stat in BOUND_SUFFIXES.items():
        if quantity.endswith(suffix):
            quantity, statistic = quantity[: -len(suffix)], stat
    if quantity in NAMED_TABLE2_ROWS:
        quantity, keys["level"] = "table2_n", NAMED_TABLE2_ROWS[quantity]
    elif quantity == "table2_n":
        keys["level"] = TABLE2_KEYS[keys["level"]]
    elif quantity == "tox_patients":
        keys["level"] = TOXICITY_KEYS[keys["level"]]
    return quantity, keys, statistic


def published_vs_reproduced(build: str | os.PathLike | None = None, ledger: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ledger with ``reproduced``, ``difference``, ``results_file`` and the origin (notebook, cell) added.

    Published quantities the results have no number for (e.g. the TACE
    interval, a property of the input data) have NaN and empty origins.
    ``ledger``: another table with the columns of ``data/published.csv``
    (e.g. a user's expectations file); default the published numbers.
    """
    ledger = load_published() if ledger is None else ledger
    table = NumberTable.read(build)
    reproduced, files, notebooks, cells = [], [], [], []
    for _, row in ledger.iterrows():
        quantity, keys, statistic = numbers_key(row)
        if "months" in keys:
            keys["months"] = months_key(float(keys["months"]))
        try:
            n = table.get(quantity, **keys)
        except KeyError:
            reproduced.append(np.nan)
            files.append("")
            notebooks.append("")
            cells.append("")
            continue
        reproduced.append(getattr(n, statistic))
        files.append(n.results_file)
        notebooks.append(n.origin.notebook)
        cells.append(n.origin.cell)
    out = ledger.copy()
    out["reproduced"] = reproduced
    out["difference"] = out["reproduced"] - out["value"]
    out["results_file"] = files
    out["notebook"] = notebooks
    out["cell"] = cells
    return out.rename(columns={"value": "published"})


def agreement(comparison: pd.DataFrame, exact: float = 1e-9) -> tuple[int, int]:
    """(reproduced exactly, compared): how many published numbers were compared and how many agree to ``exact``."""
    compared = comparison[comparison["reproduced"].notna()]
    return int((compared["difference"].abs() < exact).sum()), len(compared)


#: The verdict of a ledger row (:func:`verdicts`).
WITHIN, OUTSIDE, NO_BOUND, NOT_REPRODUCED = "within", "outside", "no bound", "not reproduced"


def verdicts(comparison: pd.DataFrame, tolerances: pd.Series | None = None) -> pd.DataFrame:
    """Each row of the ledger (:func:`published_vs_reproduced`) with its ``tolerance``, ``check`` and ``verdict``.

    ``tolerances``: an absolute tolerance per row (NaN: no bound), e.g. the
    ``tolerance`` column of a user's expectations file; default the
    calibration bounds of the synthetic cohort
    (:data:`helpers.data.published.CALIBRATION_BOUNDS`), under which numbers
    the analysis re-derives (p-values, SMDs, hazard ratios and their CIs)
    have no bound. A row is ``within`` when ``|reproduced - published| <=
    tolerance`` (to 1e-9), ``outside`` otherwise, ``no bound`` without a
    tolerance and ``not reproduced`` when the run has no such number.
    """
    out = comparison.copy()
    if tolerances is None:
        bounds = [calibration_bound(q, c) for q, c in zip(out["quantity"], out["cohort"])]
        out["tolerance"] = [b[0] if b else np.nan for b in bounds]
        out["check"] = [b[1] if b else "re-derived, no bound" for b in bounds]
    else:
        out["tolerance"] = pd.to_numeric(pd.Series(tolerances, index=out.index), errors="coerce")
        out["check"] = np.where(out["tolerance"].notna(), "expectations file", "no bound")
    diff = out["difference"].abs()
    out["verdict"] = np.select(
        [out["reproduced"].isna(), out["tolerance"].isna(), diff <= out["tolerance"] + 1e-9],
        [NOT_REPRODUCED, NO_BOUND, WITHIN], OUTSIDE)
    return out


def verdict_counts(judged: pd.DataFrame) -> dict[str, int]:
    """How many rows of :func:`verdicts` have each verdict, and ``judged`` (within + outside)."""
    counts = {v: int((judged["verdict"] == v).sum()) for v in (WITHIN, OUTSIDE, NO_BOUND, NOT_REPRODUCED)}
    counts["judged"] = counts[WITHIN] + counts[OUTSIDE]
    return counts


def verdict_summary(judged: pd.DataFrame) -> pd.DataFrame:
    """The verdicts per quantity and cohort: the check and tolerance, and how many rows have each verdict."""
    if not len(judged):
        return pd.DataFrame(columns=["quantity", "cohort", "check", "tolerance", WITHIN, OUTSIDE, NO_BOUND,
                                     NOT_REPRODUCED])
    counts = pd.crosstab([judged["quantity"], judged["cohort"]], judged["verdict"]).reindex(
        columns=[WITHIN, OUTSIDE, NO_BOUND, NOT_REPRODUCED], fill_value=0)
    first = judged.groupby(["quantity", "cohort"])[["check", "tolerance"]].first()
    order = judged[["quantity", "cohort"]].drop_duplicates().set_index(["quantity", "cohort"]).index
    return first.join(counts).reindex(order).reset_index()


#: The Cox models whose treatment term the published matched hazard ratios are compared with.
TREATMENT_MODELS = ("univariate", "multivariate")


def treatment_model_comparison(build: str | os.PathLike | None = None, ledger: pd.DataFrame | None = None,
                               treated_arm: str = "SBRT+TACE", alpha: float = 0.05) -> pd.DataFrame:
    """The published matched treatment hazard ratios beside the arm's term of both Cox models of the matched cohort.

    For each endpoint with a published ``treatment_hr`` after matching, and each model of
    :data:`TREATMENT_MODELS` (the ``cox_hr`` numbers of notebook 03, term ``arm[<treated_arm>]``):
    the published HR and CI, the reproduced ones and p, ``log_distance`` (the largest absolute
    difference of log HR, log lower and log upper bound), whether each CI excludes 1, and whether
    they agree on it (``same_significance``). ``likely`` marks, over all endpoints, the model that
    agrees on significance with more endpoints and, among those, has the smaller summed distance:
    the model the published numbers most likely come from.

    Examples
    --------
    The published OS HR (0.429, 0.206-0.894) excludes 1, beside a log-rank p of 0.069; a univariate
    Cox HR has about the log-rank test's p, so a multivariable HR close to it that excludes 1 is the
    likelier source.
    """
    ledger = load_published() if ledger is None else ledger
    table = NumberTable.read(build)
    term = f"arm[{treated_arm}]"
    rows = []
    hr_rows = ledger[(ledger["quantity"] == "treatment_hr") & (ledger["cohort"] == "after")]
    for endpoint in hr_rows["endpoint"]:
        pub = {stat: float(ledger.loc[(ledger["quantity"] == q) & (ledger["cohort"] == "after")
                                      & (ledger["endpoint"] == endpoint), "value"].iloc[0])
               for stat, q in (("hr", "treatment_hr"), ("ci_lower", "treatment_hr_ci_lower"),
                               ("ci_upper", "treatment_hr_ci_upper"))}
        for model in TREATMENT_MODELS:
            try:
                n = table.get("cox_hr", cohort="after", endpoint=endpoint, variable=term, level=model)
                got = {"hr": n.value, "ci_lower": n.ci_lower, "ci_upper": n.ci_upper}
                p = n.p_value
            except KeyError:
                got, p = {k: np.nan for k in pub}, np.nan
            distance = max(abs(np.log(got[k]) - np.log(pub[k])) for k in pub)
            pub_excl = pub["ci_upper"] < 1 or pub["ci_lower"] > 1
            excl = bool(p < alpha)
            rows.append(dict(cohort="after", endpoint=endpoint, model=model, published_hr=pub["hr"],
                             published_ci_lower=pub["ci_lower"], published_ci_upper=pub["ci_upper"],
                             published_excludes_1=pub_excl, hr=got["hr"], ci_lower=got["ci_lower"],
                             ci_upper=got["ci_upper"], p_value=p, excludes_1=excl, log_distance=distance,
                             same_significance=bool(excl == pub_excl and not np.isnan(p))))
    out = pd.DataFrame(rows)
    if not len(out):
        return out.assign(likely=pd.Series(dtype=bool))
    score = out.groupby("model").agg(agree=("same_significance", "sum"), distance=("log_distance", "sum"))
    score = score[score["distance"].notna()]
    best = score.sort_values(["agree", "distance"], ascending=[False, True]).index[0] if len(score) else ""
    out["likely"] = out["model"] == best
    return out
