"""Published aggregate vs synthetic cohort, side by side.

``compare_to_published`` recomputes, from the patient-level files, every
aggregate the synthetic generator was calibrated to and puts it next to the
published value with the bound it must meet:

- Table 1 counts before matching: exact;
- event counts (progression, deaths, in-field recurrences), Table 2 and the
  toxicity counts: exact;
- Kaplan-Meier 1-, 3-, 5-year OS, PFS and LC per arm before matching: within
  3 percentage points;
- median follow-up within 3 months of 76, range within 3 months of 6-161;
- the matching (68/36) and after-matching figures: reported, with a looser
  "near" bound (the analysis re-derives them; see notebook 02).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data.derive import PROPENSITY_COVARIATES, TABLE1_VARIABLES, add_endpoints, add_table1_categories
from helpers.data.eligibility import add_eligibility, eligible_patients
from helpers.data.published import calibration_bound, load_published, published_value
from helpers.data.schema import ARMS
from helpers.stats.survival import km_rates_reported

ENDPOINTS = {"OS": ("os_months", "os_event"), "PFS": ("pfs_months", "pfs_event"), "LC": ("lc_months", "lc_event")}


def analysis_frame(cohort: pd.DataFrame, cutoff: str = "2025-09-30") -> pd.DataFrame:
    """Eligible patients with categories, endpoints and the matching flag (``matched``).

    Matched with the *paper's* design (``matching_ratio`` and
    ``matching_caliper_sd`` of ``data/published.csv``), not the run's
    parameters: the check asks whether the cohort reproduces the published
    study, whatever design a run then analyses it with.
    """
    from helpers.stats.matching import propensity_match

    ledger = load_published()
    df = add_eligibility(cohort)
    df = eligible_patients(df)
    df = add_endpoints(add_table1_categories(df), cutoff=cutoff)
    m = propensity_match(df, PROPENSITY_COVARIATES, ratio=int(published_value(ledger, "matching_ratio")),
                         caliper_sd=published_value(ledger, "matching_caliper_sd"))
    df["matched"] = m.matched_cohort["matched"].to_numpy().astype(bool)
    return df


def table2_counts(g: pd.DataFrame) -> dict[str, int]:
    """The paper's Table 2 rows for one group of patients (keys of the ledger's ``table2_n``)."""
    from helpers.results.ledger import TABLE2_KEYS
    from helpers.stats.progression import progression_pattern_table

    # groups= given so that an empty group (e.g. nobody matched) counts zeros instead of no rows
    t = progression_pattern_table(g.assign(_all="all"), group_col="_all", groups=["all"], include_total=False,
                                  death_col="os_event").set_index("key")["n"]
    return {ledger_key: int(t[key]) for ledger_key, key in TABLE2_KEYS.items()}


def compare_to_published(cohort: pd.DataFrame, adverse_events: pd.DataFrame, cutoff: str = "2025-09-30") -> pd.DataFrame:
    """One row per calibrated aggregate: quantity, keys, published, synthetic, bound, ok."""
    ledger = load_published()
    cohort = cohort.copy(deep=False)  # the date columns are replaced, the caller's frame is not written
    for c in ("death_date", "progression_date", "local_progression_date"):
        cohort[c] = pd.to_datetime(cohort[c].replace("", np.nan))
    df = analysis_frame(cohort, cutoff=cutoff)
    # The columns compared below, only: each group taken from it copies these, not the whole cohort.
    df = df[["patient_id", "arm", "matched", *dict.fromkeys(v.column for v in TABLE1_VARIABLES),
             *(c for cols in ENDPOINTS.values() for c in cols), "progression_sites", "subsequent_therapy",
             "progression_date", "death_date", "followup_months"]]
    rows: list[dict] = []

    def add(quantity, published, synthetic, bound, kind="exact", **keys):
        diff = synthetic - published
        rows.append(dict(quantity=quantity, **{k: keys.get(k, "") for k in ("cohort", "arm", "endpoint", "variable", "level", "months")},
                         published=published, synthetic=synthetic, difference=diff, bound=bound, check=kind,
                         ok=bool(abs(diff) <= bound + 1e-12)))

    def pub(q, **keys):
        m = ledger["quantity"] == q
        for k, v in keys.items():
            m &= ledger[k] == str(v)
        return float(ledger.loc[m, "value"].iloc[0])

    # Each Table 1 column coded once; a group's counts are then a bincount of its codes.
    codes = {v.column: pd.factorize(df[v.column]) for v in TABLE1_VARIABLES}
    arm_of, matched = df["arm"].to_numpy(), df["matched"].to_numpy(dtype=bool)
    months_compared = (12, 36, 60)
    for cohort_name, in_cohort in (("before", np.ones(len(df), dtype=bool)), ("after", matched)):
        for arm in ARMS:
            mask = in_cohort & (arm_of == arm)
            add("n_patients", pub("n_patients", cohort=cohort_name, arm=arm), int(mask.sum()),
                *calibration_bound("n_patients", cohort_name), cohort=cohort_name, arm=arm)
            for v in TABLE1_VARIABLES:
                level_codes, levels = codes[v.column]
                counts = np.bincount(level_codes[mask & (level_codes >= 0)], minlength=len(levels))
                for lev in v.levels:
                    n = int(counts[levels.get_loc(lev)]) if lev in levels else 0
                    add("table1_n", pub("table1_n", cohort=cohort_name, arm=arm, variable=v.column, level=lev),
                        n, *calibration_bound("table1_n", cohort_name),
                        cohort=cohort_name, arm=arm, variable=v.column, level=lev)
            for ep, (tcol, ecol) in ENDPOINTS.items():
                rate = km_rates_reported(df[tcol].to_numpy()[mask], df[ecol].to_numpy()[mask], months_compared)
                for i, months in enumerate(months_compared):
                    s = float(rate["survival"].iloc[i]) if len(rate) else float("nan")
                    add("km_survival", pub("km_survival", cohort=cohort_name, arm=arm, endpoint=ep, months=months),
                        round(s, 4), *calibration_bound("km_survival", cohort_name),
                        cohort=cohort_name, arm=arm, endpoint=ep, months=months)
            t2 = table2_counts(df.loc[mask, ["progression_sites", "subsequent_therapy", "os_event"]])
            for key, val in t2.items():
                add("table2_n", pub("table2_n", cohort=cohort_name, arm=arm, level=key), val,
                    *calibration_bound("table2_n", cohort_name), cohort=cohort_name, arm=arm, level=key)
    before = df
    for arm in ARMS:
        g = before[before["arm"] == arm]
        add("n_progression", pub("n_progression", cohort="before", arm=arm), int(g["progression_date"].notna().sum()), 0, cohort="before", arm=arm)
        add("n_death", pub("n_death", cohort="before", arm=arm), int(g["death_date"].notna().sum()), 0, cohort="before", arm=arm)
        add("n_infield_recurrence", pub("n_infield_recurrence", cohort="before", arm=arm), int(g["lc_event"].sum()), 0, cohort="before", arm=arm)
    fu = before["followup_months"]
    for measure, value in (("median", fu.median()), ("min", fu.min()), ("max", fu.max())):
        q = f"followup_{measure}_months"
        add(q, pub(q, cohort="before"), round(float(value), 1), *calibration_bound(q, "before"), cohort="before")
    # Toxicity (patients, eligible cohort).
    ae = adverse_events.merge(before[["patient_id", "arm"]], on="patient_id")
    rild = ae["term"].str.startswith("RILD")
    acute = ae[(ae["phase"] == "SBRT") & ~rild]
    for arm in ARMS:
        a = acute[acute["arm"] == arm]
        add("tox_patients", pub("tox_patients", cohort="before", arm=arm, level="acute_grade_1_2"),
            a.loc[a["grade"] <= 2, "patient_id"].nunique(), 0, cohort="before", arm=arm, level="acute_grade_1_2")
        add("tox_patients", pub("tox_patients", cohort="before", arm=arm, level="acute_grade_3_plus"), a.loc[a["grade"] >= 3, "patient_id"].nunique(), 0, cohort="before", arm=arm, level="acute_grade_3_plus")
        add("tox_patients", pub("tox_patients", cohort="before", arm=arm, level="rild"),
            ae.loc[rild & (ae["arm"] == arm), "patient_id"].nunique(), 0, cohort="before", arm=arm, level="rild")
    post = ae[ae["phase"] == "post-TACE"]
    add("tox_patients", pub("tox_patients", cohort="before", arm="SBRT+TACE", level="post_tace_epigastric_pain"), post.loc[post["term"].str.contains("pain", case=False), "patient_id"].nunique(), 0,
        cohort="before", arm="SBRT+TACE", level="post_tace_epigastric_pain")
    add("tox_patients", pub("tox_patients", cohort="before", arm="SBRT+TACE", level="post_tace_fever"), post.loc[post["term"].str.contains("fever", case=False), "patient_id"].nunique(), 0,
        cohort="before", arm="SBRT+TACE", level="post_tace_fever")
    return pd.DataFrame(rows)
