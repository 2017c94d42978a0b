r"""A check of the paper's own reporting: each finding recomputed from the numbers the paper prints.

The inputs are typed once from the paper (``data/published.csv``,
``data/published_percentages.csv``, ``data/published_reporting.csv``); each
function takes numbers, not files, and returns what it found with the
arithmetic written out:

- :func:`wald_from_ci`: the Wald z and two-sided p implied by a hazard ratio
  and its 95% CI, :math:`\mathrm{se} = (\log u - \log l) / (2 z_{0.975})`,
  :math:`z = \log \mathrm{HR} / \mathrm{se}` (R: ``2 * pnorm(-abs(log(hr) / se))``);
- :func:`percentage_check`: a printed percentage against its count and the
  denominator the header names, to the printed decimals, and which other
  denominator gives it when the stated one does not;
- :func:`bed` and :func:`bed_range`: :math:`\mathrm{BED} = D (1 + d / (\alpha/\beta))`,
  :math:`d = D / n`, at the corners of the stated dose and fraction ranges;
- :func:`table1_tests`: Pearson's :math:`\chi^2` (R ``chisq.test(x, correct =
  FALSE)``), Yates' corrected :math:`\chi^2` (``chisq.test(x)``) and Fisher's
  exact test (``fisher.test(x)``) on a published 2 x 2 table, and which one
  reproduces the printed p-value.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats


def wald_from_ci(hr: float, lower: float, upper: float, level: float = 0.95) -> dict[str, float]:
    """The standard error, z and two-sided p of ``log(hr)`` implied by its Wald CI, and how far ``hr`` is from the
    CI's geometric midpoint (0 for a Wald CI, up to rounding).

    >>> round(wald_from_ci(0.429, 0.206, 0.894)["p"], 4)
    0.0238
    """
    zq = stats.norm.ppf(0.5 + level / 2)
    se = (math.log(upper) - math.log(lower)) / (2 * zq)
    z = math.log(hr) / se
    midpoint = math.exp((math.log(upper) + math.log(lower)) / 2)
    return dict(se=se, z=z, p=float(2 * stats.norm.sf(abs(z))), midpoint=midpoint, z_quantile=float(zq))


def percent_matches(count: float, denominator: float, percent: float, decimals: int) -> bool:
    """Whether ``100 * count / denominator`` printed with ``decimals`` decimals is ``percent`` (half a unit of the
    last printed digit, plus a hair for binary floats)."""
    if denominator <= 0:
        return False
    return abs(100 * count / denominator - percent) <= 0.5 * 10 ** -decimals + 1e-9


def percentage_check(count: int, percent: float, decimals: int, stated: float,
                     candidates: Mapping[str, float]) -> dict[str, object]:
    """A printed ``count (percent%)`` against its stated denominator.

    Returns the recomputed percentage, whether it matches to the printed
    decimals, and the names of the ``candidates`` (other denominators of the
    same table: ``{"all 152 patients": 152, ...}``) that would give the
    printed value.
    """
    recomputed = 100 * count / stated if stated else math.nan
    ok = percent_matches(count, stated, percent, decimals)
    others = [name for name, d in candidates.items() if d != stated and percent_matches(count, d, percent, decimals)]
    return dict(recomputed=recomputed, matches=ok, matching_denominators=others)


def decimals_of(text: str) -> int:
    """Decimals printed in a number as text: ``'72.36'`` -> 2, ``'93.578'`` -> 3, ``'50'`` -> 0."""
    return len(text.split(".")[1]) if "." in text else 0


def bed(dose: float, fractions: float, alpha_beta: float) -> float:
    """Biologically effective dose ``D (1 + D / n / (alpha/beta))`` (Gy) of ``dose`` Gy in ``fractions`` fractions."""
    return dose * (1 + dose / fractions / alpha_beta)


def bed_range(dose_min: float, dose_max: float, fractions_min: float, fractions_max: float,
              alpha_beta: float) -> dict[str, float]:
    """The BED at the four corners of the dose and fraction ranges; BED rises with the dose and falls with the
    number of fractions, so the range is (least dose in most fractions, most dose in fewest fractions)."""
    corners = {(d, n): bed(d, n, alpha_beta) for d in (dose_min, dose_max) for n in (fractions_min, fractions_max)}
    return dict(minimum=corners[(dose_min, fractions_max)], maximum=corners[(dose_max, fractions_min)],
                **{f"{d:g} Gy / {n:g}": v for (d, n), v in corners.items()})


def fractions_for_bed(dose: float, target: float, alpha_beta: float) -> float:
    """The number of fractions in which ``dose`` Gy has BED ``target``: ``n = D^2 / ((BED - D) alpha/beta)``."""
    return dose * dose / ((target - dose) * alpha_beta)


#: The tests of :func:`table1_tests`.
PEARSON, YATES, FISHER = "Pearson chi-squared", "Yates-corrected chi-squared", "Fisher's exact"


def table1_tests(table: np.ndarray) -> dict[str, object]:
    """Pearson's and Yates' chi-squared and Fisher's exact p of a 2 x 2 table, its smallest expected count, and
    the test the usual rule picks ("Fisher's exact test when an expected count is below 5, else Pearson")."""
    table = np.asarray(table, dtype=float)
    expected = stats.contingency.expected_freq(table)
    p = {PEARSON: float(stats.chi2_contingency(table, correction=False).pvalue),
         YATES: float(stats.chi2_contingency(table, correction=True).pvalue),
         FISHER: float(stats.fisher_exact(table.astype(int)).pvalue)}
    return dict(p=p, min_expected=float(expected.min()), usual=FISHER if expected.min() < 5 else PEARSON)


def matching_tests(p_values: Mapping[str, float], printed: float, decimals: int = 3) -> list[str]:
    """The tests whose p rounds to the ``printed`` p-value at ``decimals`` decimals."""
    return [name for name, p in p_values.items() if abs(p - printed) <= 0.5 * 10 ** -decimals + 1e-9]


#: The columns of :func:`reporting_findings`.
FINDING_COLUMNS = ["check", "item", "quote", "arithmetic", "finding", "consistent"]


def _f(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def hr_findings(published, reporting: Mapping[str, Mapping[str, object]]) -> list[dict]:
    """The treatment HRs after matching against the claim that neither was significant (``hr_not_significant``)."""
    from helpers.data.published import published_value

    alpha = float(reporting["alpha"]["value"])
    out = []
    for ep in ("PFS", "OS"):
        hr, lo, hi = (published_value(published, q, cohort="after", endpoint=ep, arm="SBRT+TACE")
                      for q in ("treatment_hr", "treatment_hr_ci_lower", "treatment_hr_ci_upper"))
        w = wald_from_ci(hr, lo, hi)
        significant = w["p"] < alpha
        arithmetic = (f"se = (ln {hi:g} - ln {lo:g}) / (2 x {w['z_quantile']:.3f}) = {w['se']:.4f}; "
                      f"z = ln {hr:g} / se = {w['z']:.3f}; p = 2 Phi(-|z|) = {w['p']:.4f}; "
                      f"geometric midpoint of the CI {w['midpoint']:.3f}")
        ci_excludes_1 = hi < 1 or lo > 1
        finding = (f"{ep}: the CI {'excludes' if ci_excludes_1 else 'includes'} 1 and the implied Wald p is "
                   f"{w['p']:.3f}, {'below' if significant else 'above'} the stated alpha of {alpha:g}: "
                   + ("the HR is significant by its own CI, contrary to the claim (the log-rank p the Results "
                      "quote is another test)" if significant else "consistent with 'not significant'"))
        out.append(dict(check="HR confidence interval vs significance claim", item=f"treatment HR, {ep}, after matching",
                        quote=reporting["hr_not_significant"]["quote"], arithmetic=arithmetic, finding=finding,
                        consistent=not significant))
    return out


def percentage_findings(percentages) -> list[dict]:
    """Every printed percentage of Tables 1 and 2 against its count and stated denominator: one finding per table
    row with a percentage that does not match (the arithmetic per column, and the denominator that would give
    the printed value), and one summary row per table."""
    out = []
    for table, block in percentages.groupby("table", sort=False):
        pairs = block[["stated_denominator", "denominator_is"]].drop_duplicates().itertuples(index=False)
        described = {f"{int(d)} ({what})": what for d, what in pairs}
        candidates = {name: float(name.split(" ")[0]) for name in described}
        n_ok = 0
        for row, cells in block.groupby("row", sort=False):
            bad, others = [], set()
            for r in cells.itertuples():
                dec = decimals_of(str(r.percent))
                c = percentage_check(int(r.count), float(r.percent), dec, float(r.stated_denominator), candidates)
                n_ok += bool(c["matches"])
                if not c["matches"]:
                    bad.append(f"{r.cohort} {r.arm}: {int(r.count)} / {int(r.stated_denominator)} = "
                               f"{_f(c['recomputed'], dec + 1)}%, printed {r.percent}%")
                    others.update([described[m] for m in c["matching_denominators"]]
                                  or ["none of the table's denominators"])
            if bad:
                out.append(dict(check="percentages vs counts and denominators", item=f"{table}, {row}",
                                quote="; ".join(cells["quote"]), arithmetic="; ".join(bad),
                                finding=f"{len(bad)} of {len(cells)} percentages do not match the stated denominator "
                                        f"({cells['denominator_is'].iloc[0]}); the printed values are given by "
                                        f"{' / '.join(sorted(others))}", consistent=False))
        out.append(dict(check="percentages vs counts and denominators", item=f"{table}: all percentages",
                        quote=f"{len(block)} printed 'count (percent)' cells of {table}",
                        arithmetic="100 x count / stated denominator, to the printed decimals",
                        finding=f"{n_ok} of {len(block)} match their stated denominator", consistent=n_ok == len(block)))
    return out


def smd_findings(published, reporting: Mapping[str, Mapping[str, object]]) -> list[dict]:
    """The 'all SMD < threshold' claim against the published SMD column."""
    threshold = float(reporting["smd_threshold"]["value"])
    smd = published[published["quantity"] == "table1_smd"]
    above = smd[smd["value"] >= threshold]
    listed = "; ".join(f"{r.variable} {r.value:g}" for r in above.itertuples()) or "none"
    return [dict(check="'all SMD < 0.1'", item="Table 1, SMD column (after matching)",
                 quote=reporting["smd_threshold"]["quote"],
                 arithmetic=f"{len(above)} of {len(smd)} published SMDs >= {threshold:g}: {listed}; "
                            f"largest {smd['value'].max():g}",
                 finding="the claim holds" if above.empty else
                         f"{len(above)} covariate(s) at or above {threshold:g}: the claim does not hold as printed",
                 consistent=above.empty)]


def bed_findings(reporting: Mapping[str, Mapping[str, object]]) -> list[dict]:
    """The stated BED range against the stated doses and fractions."""
    v = {k: float(reporting[k]["value"]) for k in ("dose_min_gy", "dose_max_gy", "fractions_min", "fractions_max",
                                                 "alpha_beta_gy", "bed_min_gy", "bed_max_gy")}
    r = bed_range(v["dose_min_gy"], v["dose_max_gy"], v["fractions_min"], v["fractions_max"], v["alpha_beta_gy"])
    ab = v["alpha_beta_gy"]
    corners = "; ".join(f"{k}: {x:.1f} Gy" for k, x in r.items() if "Gy /" in k)
    out = []
    for end, stated, computed in (("lower", v["bed_min_gy"], r["minimum"]), ("upper", v["bed_max_gy"], r["maximum"])):
        ok = abs(stated - computed) < 0.05
        regimens = " or ".join(f"{d:g} Gy in {fractions_for_bed(d, stated, ab):.2f} fractions"
                               for d in (v["dose_min_gy"], v["dose_max_gy"]) if stated > d)
        out.append(dict(check="BED range vs doses and fractions", item=f"{end} end of the BED range",
                        quote=reporting["bed_min_gy"]["quote"],
                        arithmetic=f"BED = D (1 + D / n / {ab:g}); {corners}",
                        finding=(f"stated {stated:g} Gy = computed {computed:.1f} Gy" if ok else
                                 f"stated {stated:g} Gy, but the stated regimens give {computed:.1f} Gy; {stated:g} Gy "
                                 f"is {regimens} (stated: {v['fractions_min']:g}-{v['fractions_max']:g} fractions)"),
                        consistent=ok))
    return out


def table1_rule_findings(published, reporting: Mapping[str, Mapping[str, object]]) -> list[dict]:
    """Each published Table 1 p-value against Pearson, Yates and Fisher on the published counts, and the rule the
    Methods name (Pearson or Fisher 'as appropriate'; read as Fisher when an expected count is below 5)."""
    counts = published[published["quantity"] == "table1_n"]
    pvals = published[published["quantity"] == "table1_p"]
    out = []
    for r in pvals.itertuples():
        c = counts[(counts["cohort"] == r.cohort) & (counts["variable"] == r.variable)]
        table = c.pivot_table(index="level", columns="arm", values="value", sort=False).to_numpy()
        t = table1_tests(table)
        hits = matching_tests(t["p"], r.value)
        ok = t["usual"] in hits
        out.append(dict(check="Table 1 test rule", item=f"{r.variable}, {r.cohort} matching",
                        quote=reporting["table1_test_rule"]["quote"],
                        arithmetic=f"printed p = {r.value:g}; Pearson {_f(t['p'][PEARSON])}, Yates "
                                   f"{_f(t['p'][YATES])}, Fisher {_f(t['p'][FISHER])}; smallest expected count "
                                   f"{t['min_expected']:.2f}",
                        finding=(f"reproduced by {' and '.join(hits) if hits else 'none of the three tests'}; the "
                                 f"rule gives {t['usual']}" + ("" if ok else ", which the printed p is not")),
                        consistent=ok))
    return out


def caliper_findings(reporting: Mapping[str, Mapping[str, object]]) -> list[dict]:
    """The stated caliper against the common 0.2 SD of the logit (Austin 2011)."""
    stated, usual = float(reporting["caliper_sd"]["value"]), float(reporting["recommended_caliper_sd"]["value"])
    return [dict(check="caliper vs common practice", item="caliper (SD of the logit of the propensity score)",
                 quote=reporting["caliper_sd"]["quote"],
                 arithmetic=f"{usual:g} / {stated:g} = {usual / stated:g}",
                 finding=(f"the caliper is {usual / stated:g} times narrower than the {usual:g} SD of "
                          f"{reporting['recommended_caliper_sd']['source']}; narrower calipers drop more treated "
                          "patients (a possible typo for 0.2 or a deliberate choice the paper does not explain)")
                 if stated < usual else "within common practice", consistent=stated >= usual)]


def reporting_findings(published, percentages, reporting) -> pd.DataFrame:
    """Every finding of the reporting check (``FINDING_COLUMNS``), from the paper's own numbers: ``published``
    (``data/published.csv``), ``percentages`` (``data/published_percentages.csv``) and ``reporting``
    (``data/published_reporting.csv``, indexed by ``item``)."""
    rep = {r["item"]: r for r in reporting.to_dict("records")}
    rows = [*hr_findings(published, rep), *percentage_findings(percentages), *smd_findings(published, rep),
            *bed_findings(rep), *table1_rule_findings(published, rep), *caliper_findings(rep)]
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)
