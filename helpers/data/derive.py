"""Derived variables: BED, the Table 1 categories, and the survival endpoints.

Everything here is computed from raw values (age in years, platelet count,
dose and fractions, dates), never read from stored categories.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAYS_PER_MONTH: float = 30.4375  # 365.25 / 12
DEFAULT_CUTOFF: str = "2025-09-30"


def bed_gy(total_dose_gy, fractions, alpha_beta: float = 10.0):
    r"""Biologically effective dose of the linear-quadratic model.

    .. math:: \mathrm{BED} = D\left(1 + \frac{d}{\alpha/\beta}\right), \qquad d = D / n

    Parameters
    ----------
    total_dose_gy : float or array-like
        Total prescribed dose :math:`D` in Gy.
    fractions : int or array-like
        Number of fractions :math:`n`.
    alpha_beta : float
        The tissue's :math:`\alpha/\beta` ratio in Gy (10 for HCC).

    Examples
    --------
    >>> round(bed_gy(48, 8), 1)     # the paper's lowest BED
    76.8
    >>> bed_gy(50, 5)               # exactly on the 100 Gy boundary
    100.0
    """
    d = np.asarray(total_dose_gy, dtype=float)
    n = np.asarray(fractions, dtype=float)
    out = d * (1.0 + (d / n) / alpha_beta)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class Table1Variable:
    """A row group of Table 1: a derived categorical column and its levels (reference first)."""

    column: str
    label: str
    levels: tuple[str, ...]


# In the order of the paper's Table 1. The first level is the reference.
TABLE1_VARIABLES: tuple[Table1Variable, ...] = (
    Table1Variable("child_pugh_class", "Child-Pugh classification", ("A", "B")),
    Table1Variable("platelets_group", "Platelet count (10^9/L)", ("<100", ">=100")),
    Table1Variable("afp_group", "Alpha-fetoprotein (ng/mL)", ("<200", ">=200")),
    Table1Variable("hepatitis_type", "Type of chronic hepatitis", ("HBV", "HCV")),
    Table1Variable("age_group", "Age (years)", ("<60", ">=60")),
    Table1Variable("bed_group", "BED (alpha/beta = 10, Gy)", ("<100", ">=100")),
    Table1Variable("sex_group", "Gender", ("Female", "Male")),
    Table1Variable("pvtt_group", "Portal vein tumour thrombus", ("Without", "With")),
    Table1Variable("diameter_group", "Maximum tumour diameter (cm)", ("<5", ">=5")),
    Table1Variable("ecog_group", "ECOG PS score", ("0", "1")),
    Table1Variable("prior_treatment_group", "Previous treatment", ("Once", "Twice or more")),
)

#: The Methods' ten propensity covariates (as Table 1 categories). Platelet
#: count is in Table 1 but not in the propensity model.
PROPENSITY_COVARIATES: tuple[str, ...] = (
    "sex_group", "age_group", "hepatitis_type", "child_pugh_class", "diameter_group",
    "bed_group", "afp_group", "pvtt_group", "prior_treatment_group", "ecog_group",
)


def _two_groups(values: pd.Series, threshold: float, low: str, high: str) -> pd.Series:
    out = pd.Series(np.where(values < threshold, low, high), index=values.index, dtype=object)
    out[values.isna()] = np.nan
    return out


def add_table1_categories(df: pd.DataFrame, alpha_beta: float = 10.0) -> pd.DataFrame:
    """Add ``bed_gy`` and the Table 1 category columns (see ``TABLE1_VARIABLES``).

    Cut-points as in the paper: age < 60 / >= 60 years, platelets < 100 / >= 100
    x10^9/L, AFP < 200 / >= 200 ng/mL, diameter < 5 / >= 5 cm, BED < 100 / >= 100 Gy,
    prior treatment once / twice or more. ECOG is kept as its level ("0", "1", "2").
    """
    out = df.copy(deep=False)  # only new columns are set: the input's are shared, never written
    out["bed_gy"] = bed_gy(out["sbrt_dose_gy"], out["sbrt_fractions"], alpha_beta)
    out["child_pugh_class"] = out["child_pugh"].astype(object)
    out["platelets_group"] = _two_groups(out["platelets_1e9_per_l"], 100, "<100", ">=100")
    out["afp_group"] = _two_groups(out["afp_ng_ml"], 200, "<200", ">=200")
    out["hepatitis_type"] = out["hepatitis"].astype(object)
    out["age_group"] = _two_groups(out["age_years"], 60, "<60", ">=60")
    # Round to 1e-9 Gy so that 50 Gy in 5 fractions is >= 100 whatever the float path.
    out["bed_group"] = _two_groups(out["bed_gy"].round(9), 100, "<100", ">=100")
    out["sex_group"] = out["sex"].astype(object)
    out["pvtt_group"] = out["pvtt"].map({0: "Without", 1: "With"}).astype(object)
    out["diameter_group"] = _two_groups(out["tumor_diameter_cm"], 5, "<5", ">=5")
    out["ecog_group"] = out["ecog"].astype("Int64").astype(str).replace("<NA>", np.nan)
    out["prior_treatment_group"] = np.where(out["prior_treatments"] <= 1, "Once", "Twice or more")
    return out


def _months_between(start: pd.Series, end: pd.Series) -> pd.Series:
    return (end - start).dt.days / DAYS_PER_MONTH


#: The event dates the data cut-off applies to, and what the analysis notes call them.
CUTOFF_EVENTS: dict[str, tuple[str, str]] = {
    "death_date": ("death", "deaths"),
    "progression_date": ("progression", "progressions"),
    "local_progression_date": ("local progression", "local progressions"),
}


def _after(dates: pd.Series, cut: pd.Timestamp) -> pd.Series:
    return pd.to_datetime(dates) > cut


def events_after_cutoff(df: pd.DataFrame, cutoff: str = DEFAULT_CUTOFF) -> pd.DataFrame:
    """How many events of ``df`` (raw, before :func:`censor_at_cutoff`) fall after the data cut-off.

    Returns
    -------
    DataFrame
        One row per event date of ``CUTOFF_EVENTS``: ``event`` (e.g.
        ``"deaths"``), ``date_column``, ``n_after_cutoff`` (patients whose
        date is later than ``cutoff``) and ``cutoff`` (ISO date).

    Examples
    --------
    >>> df = pd.DataFrame({"death_date": ["2026-01-05", None], "progression_date": [None, "2025-01-01"],
    ...                    "local_progression_date": [None, None]})
    >>> events_after_cutoff(df, "2025-09-30")["n_after_cutoff"].tolist()
    [1, 0, 0]
    """
    cut = pd.Timestamp(cutoff)
    return pd.DataFrame([{"event": plural, "date_column": col, "n_after_cutoff": int(_after(df[col], cut).sum()),
                          "cutoff": cut.date().isoformat()} for col, (_, plural) in CUTOFF_EVENTS.items()],
                        columns=["event", "date_column", "n_after_cutoff", "cutoff"])


def censor_at_cutoff(df: pd.DataFrame, cutoff: str = DEFAULT_CUTOFF) -> pd.DataFrame:
    """The cohort as it was known at the data cut-off: the one place the cut-off is applied.

    An event after ``cutoff`` had not happened by then, so every count, table
    and comparison must censor it, not only the survival endpoints:

    - ``death_date``, ``progression_date`` and ``local_progression_date``
      later than the cut-off are emptied (NaT);
    - a progression after the cut-off also empties ``progression_sites`` and
      ``subsequent_therapy`` (Table 2 counts progressed patients from the
      sites); a local progression after the cut-off, with an earlier first
      progression, removes ``in-field`` from the sites;
    - ``last_followup`` is at most the cut-off.

    Dates become ``datetime64``; other columns are unchanged. :func:`add_endpoints`
    calls it, so every consumer of the analysis cohort sees the same data;
    :func:`events_after_cutoff` counts what it censored.

    Examples
    --------
    >>> df = pd.DataFrame({"last_followup": ["2026-02-01"], "death_date": ["2026-02-01"],
    ...                    "progression_date": ["2026-01-10"], "local_progression_date": [None],
    ...                    "progression_sites": ["liver"], "subsequent_therapy": ["single"]})
    >>> censor_at_cutoff(df, "2025-09-30").iloc[0].tolist()
    [Timestamp('2025-09-30 00:00:00'), NaT, NaT, NaT, nan, nan]
    """
    out = df.copy(deep=False)  # columns are replaced, not written into: the input's stay as they are
    cut = pd.Timestamp(cutoff)
    late = {col: _after(out[col], cut) for col in CUTOFF_EVENTS}
    for col in CUTOFF_EVENTS:
        out[col] = pd.to_datetime(out[col]).mask(late[col])
    detail = [c for c in ("progression_sites", "subsequent_therapy") if c in out.columns]
    for c in detail:  # written into below: this frame's own copy
        out[c] = out[c].copy()
    out.loc[late["progression_date"], detail] = np.nan
    if "progression_sites" in out.columns:
        late_local = late["local_progression_date"] & ~late["progression_date"] & out["progression_sites"].notna()
        sites = out.loc[late_local, "progression_sites"].astype(str).str.split(";")
        out.loc[late_local, "progression_sites"] = [";".join(s for s in v if s != "in-field") or np.nan
                                                    for v in sites]
    out["last_followup"] = pd.to_datetime(out["last_followup"]).clip(upper=cut)
    return out


#: The codes of ``lc_status`` (local control with death as a competing event).
LC_STATUS = {0: "censored", 1: "local failure", 2: "death without local failure"}


def add_endpoints(df: pd.DataFrame, cutoff: str = DEFAULT_CUTOFF) -> pd.DataFrame:
    """Censor at the data cut-off (:func:`censor_at_cutoff`), then add OS, PFS and LC as (months, event) pairs.

    - OS: death from any cause.
    - PFS: first progression anywhere, or death, whichever first.
    - LC: progression of the irradiated lesion; death censors.
    - LC with death as a competing event (``lc_status``): the time is ``lc_months`` (local failure, death or
      censoring, whichever first) and the status 0 = censored, 1 = local failure, 2 = death without local
      failure before it (:data:`LC_STATUS`), as R's ``factor(status, 0:2, c("censor", "lf", "death"))``
      reads it (``helpers.stats.survival.competing``).

    Every endpoint is censored at ``last_followup`` or at the data ``cutoff``,
    whichever is earlier; an event after the cut-off counts as censored at the
    cut-off, and so do the event dates, sites and therapy of the returned
    frame. Months are days / 30.4375.

    Adds ``os_months``, ``os_event``, ``pfs_months``, ``pfs_event``,
    ``lc_months``, ``lc_event``, ``lc_status`` and ``followup_months`` (time to death or to
    censoring: the observed time of OS).
    """
    out = censor_at_cutoff(df, cutoff)
    cut = pd.Timestamp(cutoff)
    start = pd.to_datetime(out["sbrt_start"])
    end = pd.to_datetime(out["last_followup"]).clip(upper=cut)

    def endpoint(event_date: pd.Series) -> tuple[pd.Series, pd.Series]:
        ev = pd.to_datetime(event_date)
        happened = ev.notna() & (ev <= end)
        when = ev.where(happened, end)
        return _months_between(start, when), happened.astype(int)

    out["os_months"], out["os_event"] = endpoint(out["death_date"])
    first = pd.concat([pd.to_datetime(out["progression_date"]), pd.to_datetime(out["death_date"])], axis=1).min(axis=1)
    out["pfs_months"], out["pfs_event"] = endpoint(first)
    out["lc_months"], out["lc_event"] = endpoint(out["local_progression_date"])
    # Death before local progression ends LC follow-up (censored at death).
    died = out["os_event"].astype(bool) & ~out["lc_event"].astype(bool)
    out.loc[died, "lc_months"] = out.loc[died, "os_months"]
    out["lc_status"] = np.where(out["lc_event"].astype(bool), 1, np.where(died, 2, 0))
    out["followup_months"] = out["os_months"]
    return out
