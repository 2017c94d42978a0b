"""The headline results of the default report, pinned to the values R gives on the same cohort.

The project's values are computed here from the committed data the way
notebooks 01-03 do (eligibility, derivation, propensity matching: the
``default_cohorts`` fixture of ``conftest.py``; then log-rank, Cox and
Kaplan-Meier), with the notebooks' declared default parameters, without
running papermill. The reference values were produced once with R 4.2.2 /
survival 3.5-3 by ``tests/r/headline_reference.R`` on the pipeline's own
cohorts::

    make analysis && Rscript tests/r/headline_reference.R build/results

which reads ``analysis_cohort.csv`` (endpoints in months) and the ``matched``
flag of ``matched_cohort.csv`` (the matching itself is compared with MatchIt
by ``tests/test_matching.py``). In the R calls, ``d`` is the cohort before or
after matching, ``time``/``status`` the endpoint's months and event
indicator, and ``arm`` a factor with levels ``c("SBRT", "SBRT+TACE")``.
"""
from __future__ import annotations

import numpy as np
import pytest

from helpers.data.schema import ARMS, TREATED_ARM
from helpers.parameters import notebook_parameters
from helpers.stats.survival import km_rates_reported, logrank_test, treatment_effect, univariate_then_multivariate_cox

RTOL = 1e-6
ENDPOINTS = {"OS": ("os_months", "os_event"), "PFS": ("pfs_months", "pfs_event"), "LC": ("lc_months", "lc_event")}

# R: lr <- survdiff(Surv(time, status) ~ arm, data = d)
#    c(lr$chisq, pchisq(lr$chisq, 1, lower.tail = FALSE))               # chi-squared, p
R_LOGRANK = {
    ("before", "OS"): (0.755660058670426, 0.384690118044279),
    ("before", "PFS"): (0.747351059785401, 0.38731619900842),
    ("before", "LC"): (0.000101552025790852, 0.991959612002695),
    ("after", "OS"): (3.10840862290688, 0.0778890286943161),
    ("after", "PFS"): (1.5644168043921, 0.211019685241731),
    ("after", "LC"): (0.778421409851969, 0.377624363947154),
}

# R: s <- summary(coxph(Surv(time, status) ~ arm, data = d, ties = "efron"))
#    c(s$conf.int[1, c(1, 3, 4)], s$coefficients[1, 5], s$n, s$nevent)  # HR, 95% CI, Wald p, n, events
R_COX = {
    ("before", "OS"): (0.771572210497366, 0.429429463447669, 1.3863130657879, 0.385727639512885, 152, 60),
    ("before", "PFS"): (0.832710291949505, 0.549940626609825, 1.26087507772106, 0.387115107090134, 152, 114),
    ("before", "LC"): (1.00508468927031, 0.308666715662935, 3.27277021247972, 0.993281756383086, 152, 13),
    ("after", "OS"): (0.529879166981453, 0.258576280922472, 1.0858379221764, 0.0827419465247927, 104, 40),
    ("after", "PFS"): (0.735745586293662, 0.454295829848263, 1.19156182422236, 0.21222068825527, 104, 76),
    ("after", "LC"): (0.554187131988153, 0.146559100335822, 2.0955599246824, 0.384419451914406, 104, 11),
}

# R: s <- summary(survfit(Surv(time, status) ~ 1, data = d[d$arm == a, ], conf.type = "log-log"),
#                 times = c(12, 36, 60), extend = TRUE)
#    cbind(s$time, s$surv, s$lower, s$upper, s$n.risk)                  # months, rate, 95% CI, at risk
R_KM = {
    ("before", "OS", "SBRT"): [(12, 0.926605504587156, 0.858601358990124, 0.962602494865342, 101),
        (36, 0.779816513761468, 0.68975211263911, 0.846604395780108, 85),
        (60, 0.650988422892093, 0.553529472052184, 0.732306209135904, 66)],
    ("before", "OS", "SBRT+TACE"): [(12, 0.976744186046512, 0.846155411883414, 0.996691048476392, 42),
        (36, 0.790697674418605, 0.636341473053227, 0.885142103549789, 34),
        (60, 0.697674418604651, 0.536967140306516, 0.811862609915822, 30)],
    ("before", "PFS", "SBRT"): [(12, 0.770642201834863, 0.679773891420769, 0.838745488855155, 84),
        (36, 0.504587155963303, 0.407472597501417, 0.593839075846221, 55),
        (60, 0.299652008857957, 0.216123404716428, 0.387489981852494, 28)],
    ("before", "PFS", "SBRT+TACE"): [(12, 0.837209302325581, 0.688617965740058, 0.918857610680313, 36),
        (36, 0.511627906976744, 0.354820465261148, 0.648271859976055, 22),
        (60, 0.465116279069767, 0.312379660393279, 0.604359228422672, 20)],
    ("before", "LC", "SBRT"): [(12, 0.981214387464387, 0.926958136645108, 0.995269501996574, 100),
        (36, 0.958126990112284, 0.891636773914955, 0.984174052740318, 82),
        (60, 0.9048314080324, 0.817108359075246, 0.951690353214206, 60)],
    ("before", "LC", "SBRT+TACE"): [(12, 0.976744186046512, 0.846155411883414, 0.996691048476392, 42),
        (36, 0.948016415868673, 0.806107995531561, 0.986865226766209, 33),
        (60, 0.948016415868673, 0.806107995531561, 0.986865226766209, 29)],
    ("after", "OS", "SBRT"): [(12, 0.911764705882353, 0.814101399313344, 0.959360946833335, 62),
        (36, 0.764705882352941, 0.644982469347942, 0.848652426075137, 52),
        (60, 0.616963064295485, 0.490607884858739, 0.720702133366338, 39)],
    ("after", "OS", "SBRT+TACE"): [(12, 1, 1, 1, 36),
        (36, 0.861111111111111, 0.697991662523211, 0.939705784868202, 31),
        (60, 0.777777777777778, 0.604442526994151, 0.882097583805818, 28)],
    ("after", "PFS", "SBRT"): [(12, 0.735294117647059, 0.613283456749597, 0.824172209668426, 50),
        (36, 0.514705882352941, 0.390578593695684, 0.625501883135569, 35),
        (60, 0.320716112531969, 0.213388156783957, 0.432907901373882, 19)],
    ("after", "PFS", "SBRT+TACE"): [(12, 0.888888888888889, 0.730519069500419, 0.956780727950765, 32),
        (36, 0.583333333333333, 0.406744222080925, 0.724009363460231, 21),
        (60, 0.527777777777778, 0.354724581023819, 0.67430445908365, 19)],
    ("after", "LC", "SBRT"): [(12, 0.970135746606335, 0.885790558244115, 0.992448690979659, 61),
        (36, 0.932091207523734, 0.827669595117764, 0.974191490521927, 49),
        (60, 0.865004736946967, 0.734120621992338, 0.934220227112457, 34)],
    ("after", "LC", "SBRT+TACE"): [(12, 1, 1, 1, 36),
        (36, 0.967741935483871, 0.79231381635274, 0.995392165326381, 30),
        (60, 0.967741935483871, 0.79231381635274, 0.995392165326381, 27)],
}


def close(actual, expected) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=RTOL, atol=0)


def test_the_default_cohort_has_the_papers_sizes(default_cohorts):
    """152 eligible (109 SBRT, 43 SBRT+TACE); 104 matched (68 and 36), as in the paper and in R's n."""
    assert [int((default_cohorts[c]["arm"] == a).sum()) for c in ("before", "after") for a in ARMS] == [109, 43, 68, 36]


@pytest.mark.parametrize("cohort, endpoint", list(R_LOGRANK))
def test_logrank_matches_r(default_cohorts, cohort, endpoint):
    d = default_cohorts[cohort]
    tcol, ecol = ENDPOINTS[endpoint]
    lr = logrank_test(d[tcol], d[ecol], d["arm"], group_order=list(ARMS))
    close([lr.chi2, lr.p_value], R_LOGRANK[cohort, endpoint])


@pytest.mark.parametrize("cohort, endpoint", list(R_COX))
def test_treatment_hazard_ratio_matches_r(default_cohorts, cohort, endpoint):
    """The treatment HR the report quotes (text -> notebook 03, cell tbl-treatment-hr -> helpers.stats.survival.
    treatment_effect -> this test): the arm's term of the model the parameter treatment_effect_model names."""
    model = next(p.default for p in notebook_parameters() if p.name == "treatment_effect_model")
    assert model == "univariate"  # the paper's definition, and the R call above
    d = default_cohorts[cohort]
    tcol, ecol = ENDPOINTS[endpoint]
    tab = univariate_then_multivariate_cox(d, tcol, ecol, [], levels={"arm": list(ARMS)}, forced=("arm",))
    effect = treatment_effect(tab.assign(cohort=cohort, endpoint=endpoint), model)
    assert len(effect) == 1
    row = effect.iloc[0]
    assert row["term"] == f"arm[{TREATED_ARM}]"
    hr, lower, upper, p, n, events = R_COX[cohort, endpoint]
    close([row["hr"], row["ci_lower"], row["ci_upper"], row["p_value"]], [hr, lower, upper, p])
    assert (row["n"], row["n_events"]) == (n, events)


@pytest.mark.parametrize("cohort, endpoint, arm", list(R_KM))
def test_kaplan_meier_rates_match_r(default_cohorts, cohort, endpoint, arm):
    d = default_cohorts[cohort]
    tcol, ecol = ENDPOINTS[endpoint]
    g = d[d["arm"] == arm]
    rates = km_rates_reported(g[tcol], g[ecol], [12, 36, 60], conf_type="log-log")
    expected = np.array(R_KM[cohort, endpoint, arm])
    close(rates["months"], expected[:, 0])
    close(rates[["survival", "ci_lower", "ci_upper"]], expected[:, 1:4])
    assert rates["n_at_risk"].tolist() == expected[:, 4].astype(int).tolist()


@pytest.mark.r_crosscheck
def test_r_script_reproduces_the_quoted_values(default_cohorts, tmp_path):
    """Rscript tests/r/headline_reference.R on these cohorts prints the values above (run with --run-r)."""
    import subprocess
    from pathlib import Path

    before, after = default_cohorts["before"], default_cohorts["after"]
    columns = ["patient_id", "arm"] + [c for pair in ENDPOINTS.values() for c in pair]
    before[columns].to_csv(tmp_path / "analysis_cohort.csv", index=False, float_format="%.17g")
    before.assign(matched=before["patient_id"].isin(after["patient_id"]).astype(int))[
        ["patient_id", "matched"]].to_csv(tmp_path / "matched_cohort.csv", index=False)
    script = Path(__file__).parent / "r" / "headline_reference.R"
    out = subprocess.run(["Rscript", str(script), str(tmp_path)], capture_output=True, text=True, check=True).stdout
    printed: dict[tuple[str, ...], list[float]] = {}
    for line in out.splitlines():
        key, values = line.split(":")
        printed[tuple(key.split())] = [float(v) for v in values.split()[1::2]]
    for (cohort, endpoint), expected in R_LOGRANK.items():
        close(printed["logrank", cohort, endpoint], expected)
    for (cohort, endpoint), expected in R_COX.items():
        close(printed["cox", cohort, endpoint], expected)
    for (cohort, endpoint, arm), rows in R_KM.items():
        for months, *expected in rows:
            close(printed["km", cohort, endpoint, arm, str(months)], expected)
