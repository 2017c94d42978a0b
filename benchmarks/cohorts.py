"""Registry-sized cohorts in the data dictionary's format, for the benchmark.

The default synthetic cohort (``data/``, 190 screened patients, 152 eligible)
is resampled to any size: each new patient is a copy of a random patient of
the same arm (rows drawn with replacement, a new ``patient_id``) whose
baseline characteristics are then shuffled column by column among the new
patients of that arm, so that the ten binary propensity covariates combine
freely (up to 2^10 covariate patterns, hence heavily tied propensity
scores, as in a registry) while each arm keeps the default cohort's
proportions. Columns that must agree with each other move together
(``prior_treatments`` with ``months_since_last_treatment``, ``n_tumors`` with
``tumor_diameter_cm``); every date of a patient moves by the same random
0-90 days earlier, so event times are not tied to the 190 originals and the
order of a patient's dates (and so the data dictionary's date rules) is
kept. Each copy carries its original's adverse events. The files pass
``make validate``; screening excludes about as many as in the default
cohort.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.schema import ADVERSE_EVENT_COLUMNS, COHORT_COLUMNS
from helpers.paths import ADVERSE_EVENTS_CSV, COHORT_CSV

#: Baseline columns shuffled among the patients of an arm; a tuple moves as one.
SHUFFLED: tuple[str | tuple[str, ...], ...] = (
    "sex", "age_years", "hepatitis", "child_pugh", "platelets_1e9_per_l", "afp_ng_ml", "pvtt", "ecog",
    ("prior_treatments", "months_since_last_treatment"), ("n_tumors", "tumor_diameter_cm"),
    "residual_liver_volume_cc",
)
#: Every date column of the cohort file (moved together, per patient).
DATE_COLUMNS: tuple[str, ...] = tuple(c.name for c in COHORT_COLUMNS if c.kind == "date")
MAX_SHIFT_DAYS: int = 90


def registry_cohort(n: int, seed: int = 14) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` screened patients and their adverse events, as the two input files' text columns.

    Parameters
    ----------
    n : int
        Patients (rows of ``cohort.csv``).
    seed : int
        Seed of the resampling (the same ``n`` and seed give the same files).

    Returns
    -------
    (DataFrame, DataFrame)
        The cohort and adverse-event tables, every cell a string, columns in
        the data dictionary's order.
    """
    rng = np.random.default_rng(seed)
    source = pd.read_csv(COHORT_CSV, dtype=str, keep_default_na=False)
    events = pd.read_csv(ADVERSE_EVENTS_CSV, dtype=str, keep_default_na=False)
    picked = rng.integers(0, len(source), size=n)
    cohort = source.iloc[picked].reset_index(drop=True)
    original = source["patient_id"].to_numpy()[picked]
    cohort["patient_id"] = [f"REG-{i:07d}" for i in range(1, n + 1)]
    for arm_rows in cohort.groupby("arm").indices.values():
        for columns in SHUFFLED:
            columns = list(columns) if isinstance(columns, tuple) else [columns]
            cohort.loc[arm_rows, columns] = cohort.loc[rng.permutation(arm_rows), columns].to_numpy()
    shift = pd.to_timedelta(rng.integers(0, MAX_SHIFT_DAYS + 1, size=n), unit="D")
    for column in DATE_COLUMNS:
        dates = pd.to_datetime(cohort[column].where(cohort[column] != ""), format="%Y-%m-%d")
        cohort[column] = (dates - shift).dt.strftime("%Y-%m-%d").fillna("")
    new_id = pd.DataFrame({"original": original, "patient_id": cohort["patient_id"]})
    ae = new_id.merge(events.rename(columns={"patient_id": "original"}), on="original", sort=False)
    ae = ae.drop(columns="original").sort_values("patient_id", kind="stable").reset_index(drop=True)
    return (cohort[[c.name for c in COHORT_COLUMNS]],
            ae[[c.name for c in ADVERSE_EVENT_COLUMNS]])


def write_registry_cohort(n: int, directory: str | Path, seed: int = 14) -> tuple[Path, Path]:
    """Write ``cohort.csv`` and ``adverse_events.csv`` of :func:`registry_cohort` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cohort, ae = registry_cohort(n, seed)
    paths = directory / "cohort.csv", directory / "adverse_events.csv"
    cohort.to_csv(paths[0], index=False)
    ae.to_csv(paths[1], index=False)
    return paths
