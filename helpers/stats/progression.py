"""Table 2 of the paper: pattern of progression, subsequent therapy and deaths.

:func:`progression_pattern_table` gives ``progression_patterns.csv`` (long
form: one row per item and group, with both well-defined percentages);
:func:`format_table2` lays it out before/after matching like the paper.
Table 2 is a table of counts (no test), so there is no R call to match; each
row maps to a published row of ``data/published.csv``:

=============================================  ==========================================
here (``key`` of the table)                    published (``table2_n``, level)
=============================================  ==========================================
``progressed``                                 ``progression``
``single_organ``                               ``single_organ``
``single_liver`` ... ``single_pelvis``         ``liver``, ``bone``, ``lung``,
                                               ``lymph_node``, ``pelvis``
``single_liver_in_field``                      ``in_field`` (a subset of the liver row)
``single_other``                               (not in the paper: any other single site)
``multiple_organ``                             ``multiple_organ`` (in-field is liver:
                                               :func:`organs_of`)
``two_organs``, ``three_plus_organs``          ``two_organs``, ``three_organs``
``therapy_single``, ``therapy_multiple``,      ``therapy_single``, ``therapy_multiple``,
``therapy_conservative``                       ``therapy_conservative``
``died``                                       ``death``
=============================================  ==========================================

Percentages: the paper mixes denominators; ``pct_of_group`` and
``pct_of_progressed`` are given for every row (see
:func:`progression_pattern_table`). Toxicity is in :mod:`helpers.stats.toxicity`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from helpers.data.distinct import PerDistinct
from helpers.data.schema import ARMS

#: Sites reported as their own single-organ row; anything else is "Other".
SINGLE_ORGAN_ROWS: tuple[tuple[str, str], ...] = (
    ("liver", "Liver"), ("bone", "Bone"), ("lung", "Lung"),
    ("lymph node", "Lymph node"), ("pelvis", "Pelvis"),
)
IN_FIELD = "in-field"
THERAPIES: tuple[tuple[str, str], ...] = (
    ("single", "Single treatment"), ("multiple", "Multiple treatments (\u2265 2 sessions)"),
    ("conservative", "Conservative treatment"),
)


def parse_sites(value) -> list[str]:
    """The sites of a ``progression_sites`` cell: ``;``-separated, stripped, lower case.

    >>> parse_sites("liver; In-field"), parse_sites(float("nan")), parse_sites("")
    (['liver', 'in-field'], [], [])
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return []
    return [s.strip().lower() for s in str(value).split(";") if s.strip()]


def organs_of(sites: Sequence[str]) -> set[str]:
    """The organs involved: each site is its own organ, except ``in-field`` which is liver.

    The irradiated lesion is in the liver, so in-field recurrence with or
    without other liver recurrence is one organ, not two.

    >>> sorted(organs_of(["in-field"])), sorted(organs_of(["in-field", "liver"]))
    (['liver'], ['liver'])
    >>> sorted(organs_of(["liver", "bone"]))
    ['bone', 'liver']
    """
    return {"liver" if s == IN_FIELD else s for s in sites}


def _is_true(series: pd.Series) -> pd.Series:
    """Death indicator: a 0/1 or boolean column (also as text), else a date/text column (non-empty)."""
    if series.dtype.kind in "iub":  # 0/1 (os_event, died) or booleans: no text to read
        return pd.Series(series.to_numpy() == 1, index=series.index)
    text = series.astype("string").str.strip().fillna("").replace({"True": "1", "False": "0"})
    as_number = pd.to_numeric(text.where(text != ""), errors="coerce")
    if (as_number.notna() | (text == "")).all():
        return (as_number == 1).fillna(False).astype(bool)
    return text != ""


def progression_pattern_table(
    cohort: pd.DataFrame,
    group_col: str = "arm",
    groups: Sequence[str] | None = None,
    include_total: bool = True,
    sites_col: str = "progression_sites",
    therapy_col: str = "subsequent_therapy",
    death_col: str = "death_date",
) -> pd.DataFrame:
    """The paper's Table 2 (pattern of progression, subsequent therapy, deaths), in long form.

    A patient has progressed when ``sites_col`` is not empty. The number of
    organs is the number of distinct organs of :func:`organs_of` (in-field =
    liver). Rows (``key``; ``indent`` is the display depth):

    - ``progressed``: patients with progression;
    - ``single_organ``: progression in one organ, split into ``single_liver``
      (with ``single_liver_in_field``: of those, the ones whose sites include
      the irradiated lesion -- a subset of the liver row, as in the paper),
      ``single_bone``, ``single_lung``, ``single_lymph_node``,
      ``single_pelvis`` and ``single_other`` (any other site: adrenal,
      peritoneum, brain, other);
    - ``multiple_organ``: two or more organs, split into ``two_organs`` and
      ``three_plus_organs``;
    - ``therapy_single``, ``therapy_multiple``, ``therapy_conservative``
      (``therapy_col`` among progressed patients), plus
      ``therapy_not_recorded`` only if some progressed patient has none;
    - ``died``: ``death_col`` non-empty (a date) or equal to 1 (e.g.
      ``os_event`` to count deaths up to the data cut-off only).

    Percentages: the paper mixes denominators (its Total column gives the
    metastasis and therapy rows as % of recurrent cases, the arm columns as
    % of the arm's n; in-field as % of single-organ cases in the arm
    columns; deaths in the Total column as 60/110 = 54.55%, deaths per
    progressed patient). We give both well-defined ones for every row:
    ``pct_of_group`` = ``100 * n / group_n`` and ``pct_of_progressed`` =
    ``100 * n / n_progressed`` (NA for ``died``, which is not a subset of the
    progressed patients).

    Returns
    -------
    DataFrame
        Long form, one row per (item, group): ``order, section, key, label,
        indent, group, group_n, n, pct_of_group, n_progressed,
        pct_of_progressed``. Groups are ``groups`` (default: the two standard
        arms if that is what ``group_col`` holds, else its sorted values)
        then ``"Total"`` if ``include_total``.

    Examples
    --------
    >>> df = pd.DataFrame({"arm": ["SBRT", "SBRT", "SBRT+TACE"],
    ...                    "progression_sites": ["in-field;liver", "liver;bone", None],
    ...                    "subsequent_therapy": ["single", "conservative", None],
    ...                    "death_date": [None, "2020-01-01", None]})
    >>> t = progression_pattern_table(df)
    >>> t[t.group == "SBRT"].set_index("key").loc[["single_liver", "single_liver_in_field", "two_organs"], "n"].tolist()
    [1, 1, 1]
    """
    if groups is None:
        present = list(pd.unique(cohort[group_col].dropna()))
        groups = list(ARMS) if set(present) <= set(ARMS) else sorted(map(str, present))
    sites = PerDistinct(cohort[sites_col])
    n_organs = pd.Series(sites(lambda v: len(organs_of(parse_sites(v)))), index=cohort.index)
    progressed = n_organs > 0
    single = n_organs == 1

    def single_in(organ_set) -> pd.Series:  # progression in one organ, which is in organ_set
        return pd.Series(sites(lambda v: len(o := organs_of(parse_sites(v))) == 1 and next(iter(o)) in organ_set),
                         index=cohort.index)

    named = {site for site, _ in SINGLE_ORGAN_ROWS}
    therapy = PerDistinct(cohort[therapy_col]) if therapy_col in cohort.columns else None

    def therapy_in(codes) -> pd.Series:  # the therapy recorded (stripped, lower case) is one of codes
        if therapy is None:
            return pd.Series("" in codes, index=cohort.index)
        return pd.Series(therapy(lambda v: ("" if pd.isna(v) else str(v).strip().lower()) in codes),
                         index=cohort.index)

    died = _is_true(cohort[death_col])

    items: list[tuple[str, str, str, int, pd.Series, bool]] = []  # section, key, label, indent, mask, subset of progressed?
    items.append(("Progression", "progressed", "Patients with progression", 0, progressed, True))
    sec = "Progression pattern"
    items.append((sec, "single_organ", "Single-organ progression", 1, single, True))
    for site, label in SINGLE_ORGAN_ROWS:
        items.append((sec, f"single_{site.replace(' ', '_')}", label, 2, single_in({site}), True))
        if site == "liver":
            in_field = pd.Series(sites(lambda v: IN_FIELD in parse_sites(v)), index=cohort.index)
            items.append((sec, "single_liver_in_field", "In-field recurrence", 3, single_in({"liver"}) & in_field, True))
    items.append((sec, "single_other", "Other site", 2, single & ~single_in(named), True))
    items.append((sec, "multiple_organ", "Multiple-organ progression", 1, n_organs >= 2, True))
    items.append((sec, "two_organs", "Two organs", 2, n_organs == 2, True))
    items.append((sec, "three_plus_organs", "Three or more organs", 2, n_organs >= 3, True))
    sec = "Subsequent therapy"
    for code, label in THERAPIES:
        items.append((sec, f"therapy_{code}", label, 1, progressed & therapy_in({code}), True))
    not_recorded = progressed & ~therapy_in({code for code, _ in THERAPIES})
    if not_recorded.any():
        items.append((sec, "therapy_not_recorded", "Not recorded", 1, not_recorded, True))
    items.append(("Deaths", "died", "Patients who died", 0, died, False))

    group_masks = [(g, (cohort[group_col] == g).to_numpy()) for g in groups]
    if include_total:
        group_masks.append(("Total", np.ones(len(cohort), dtype=bool)))
    out = []
    for order, (section, key, label, indent, mask, subset) in enumerate(items):
        for g, in_group in group_masks:
            group_n = int(in_group.sum())
            n_prog = int((progressed.to_numpy() & in_group).sum())
            n = int((mask.to_numpy() & in_group).sum())
            out.append({
                "order": order, "section": section, "key": key, "label": label, "indent": indent,
                "group": g, "group_n": group_n, "n": n,
                "pct_of_group": 100.0 * n / group_n if group_n else math.nan,
                "n_progressed": n_prog,
                "pct_of_progressed": 100.0 * n / n_prog if subset and n_prog else math.nan,
            })
    return pd.DataFrame(out)
