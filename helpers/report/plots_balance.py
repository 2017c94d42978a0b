"""Figures of covariate balance: propensity-score densities (Fig. 1) and the love plot.

Both take plain DataFrames and return a ``matplotlib.figure.Figure``; saving
is the caller's business (``fig.savefig``).
"""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from scipy.stats import gaussian_kde

from helpers.data.schema import ARMS, CONTROL_ARM, TREATED_ARM

#: One colour per arm, kept the same in every figure of the report.
ARM_COLOURS: dict[str, str] = {CONTROL_ARM: "#1f77b4", TREATED_ARM: "#d62728"}
SMD_THRESHOLD: float = 0.1
#: Largest arm drawn with a rug mark per patient: above it a rug is ink without information and
#: its marks make the figure grow with the cohort (a 10^6-patient SVG of 187 MB).
RUG_MAX_PATIENTS: int = 1000


#: Largest arm whose density is computed from every patient's score; a larger one (a registry's arm of
#: 10^5 patients and a few hundred distinct, tied scores) from its distinct scores weighted by their counts.
KDE_ALL_SCORES_MAX: int = 10_000
#: seaborn's default ``cut`` of ``kdeplot``: the grid extends this many kernel SDs beyond the data.
SEABORN_KDE_CUT: float = 3.0


def _kde_input(scores: np.ndarray) -> dict:
    """``sns.kdeplot`` arguments giving the Gaussian kernel density of ``scores`` with Scott's bandwidth.

    Up to :data:`KDE_ALL_SCORES_MAX` scores: the scores themselves (``bw_method="scott"``). A larger arm:
    its distinct scores weighted by their counts, and the bandwidth factor that gives the same kernel
    as the unweighted one, whose evaluation costs the distinct scores instead of the patients. scipy's
    weighted ``gaussian_kde`` takes Scott's factor from the effective sample size and a weighted covariance
    with the ``1 - sum(w^2)`` correction; with n scores and counts c (normalised weights c/n) the unweighted
    kernel variance ``var_unbiased * n^(-2/5)`` is ``var_weighted * f^2`` for
    ``f = n^(-1/5) sqrt(n / (n - 1) * (1 - sum(c^2) / n^2))``: the same density, to rounding.
    """
    if scores.size <= KDE_ALL_SCORES_MAX:
        return {"x": scores, "bw_method": "scott"}
    distinct, counts = np.unique(scores, return_counts=True)
    n = float(scores.size)
    factor = float(n ** -0.2 * np.sqrt(n / (n - 1.0) * (1.0 - float(np.sum((counts / n) ** 2)))))
    # seaborn's grid spans the data +- cut kernel SDs, the SD of a kernel fitted without the weights:
    # the cut that spans what the unweighted scores' kernel (the weighted one) gives.
    kernel = gaussian_kde(distinct, bw_method=factor, weights=counts.astype(float))
    unweighted = gaussian_kde(distinct, bw_method=factor)
    cut = SEABORN_KDE_CUT * float(np.sqrt(kernel.covariance[0, 0] / unweighted.covariance[0, 0]))
    return {"x": distinct, "weights": counts.astype(float), "bw_method": factor, "cut": cut}


def _density_panel(ax, data: pd.DataFrame, arms: Sequence[str], arm_col: str, score_col: str,
                   title: str) -> None:
    """Kernel density of the score per arm on [0, 1] (seaborn), with a rug and the arm's n in the legend.

    Each arm's density integrates to 1 on its own (``common_norm=False``):
    Gaussian kernel, Scott's bandwidth, no boundary correction (as R's
    ``density``/ggplot's default), evaluated inside [0, 1]. An arm with
    fewer than 2 distinct scores has no density: it is drawn as a rug only.
    The rug has one mark per patient in an arm of at most
    :data:`RUG_MAX_PATIENTS`; a larger arm has none (one mark per distinct
    score if it has no density), so the figure does not grow with the cohort.
    """
    for arm in arms:
        scores = pd.to_numeric(data.loc[data[arm_col] == arm, score_col], errors="coerce").dropna().to_numpy()
        colour = ARM_COLOURS.get(arm)
        label = f"{arm} (n = {scores.size})"
        if np.unique(scores).size >= 2:
            sns.kdeplot(**_kde_input(scores), ax=ax, color=colour, clip=(0.0, 1.0), linewidth=2, label=label)
            ax.fill_between(*ax.lines[-1].get_data(), color=colour, alpha=0.15, linewidth=0)
        else:
            ax.plot([], [], color=colour, lw=2, label=label + ", no density")
            if scores.size > RUG_MAX_PATIENTS:
                scores = np.unique(scores)
        if scores.size <= RUG_MAX_PATIENTS:
            sns.rugplot(x=scores, ax=ax, color=colour, height=0.04, alpha=0.6, linewidth=1)
    peak = max((float(np.max(line.get_ydata(), initial=0.0)) for line in ax.lines), default=0.0)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.08 * peak if peak > 0 else 1.0)
    ax.set_xlabel("Propensity score")
    ax.set_ylabel("")
    ax.set_title(title)
    ax.legend(frameon=False)
    sns.despine(ax=ax)


def plot_propensity_density(
    before: pd.DataFrame,
    after: pd.DataFrame,
    arm_col: str = "arm",
    score_col: str = "propensity_score",
    arms: Sequence[str] = ARMS,
) -> Figure:
    """The paper's Fig. 1: density of the propensity score per arm, before and after matching.

    Two panels sharing the x axis (score in [0, 1]); each arm is a Gaussian
    kernel density (Scott's rule, drawn by seaborn's ``kdeplot``) with its
    patients shown as a rug (``rugplot``) when the arm has at most
    :data:`RUG_MAX_PATIENTS` of them.

    Parameters
    ----------
    before, after : DataFrame
        One row per patient with ``arm_col`` and ``score_col`` (the score
        estimated on the full cohort; ``after`` is the matched subset).
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True, constrained_layout=True)
    _density_panel(axes[0], before, arms, arm_col, score_col, "Before matching")
    _density_panel(axes[1], after, arms, arm_col, score_col, "After matching")
    axes[0].set_ylabel("Density")
    return fig


def _variable_smd(balance: pd.DataFrame) -> pd.Series:
    """The variable-level SMD (first row of each variable), indexed by variable, in table order."""
    first = balance.drop_duplicates("variable")
    return pd.Series(first["smd"].to_numpy(dtype=float), index=first["variable"])


def plot_love(
    balance_before: pd.DataFrame,
    balance_after: pd.DataFrame,
    variables: Sequence[str] | None = None,
    threshold: float = SMD_THRESHOLD,
) -> Figure:
    """Love plot: absolute SMD of each covariate before (open) and after (filled) matching.

    One row per variable, in Table 1 order from top to bottom, with a dashed
    vertical line at ``threshold`` (0.1, the paper's criterion of good
    balance). Infinite SMDs (complete separation) are drawn at the right
    edge as a triangle.

    Parameters
    ----------
    balance_before, balance_after : DataFrame
        Outputs of ``helpers.stats.balance.balance_table`` (columns ``variable``,
        ``label``, ``smd``).
    variables : sequence of str, optional
        Variables to show (e.g. ``PROPENSITY_COVARIATES``); default all.
    """
    before, after = _variable_smd(balance_before), _variable_smd(balance_after)
    order = list(variables) if variables is not None else list(before.index)
    labels = balance_before.drop_duplicates("variable").set_index("variable")["label"]
    y = np.arange(len(order))[::-1]
    b = before.reindex(order).to_numpy()
    a = after.reindex(order).to_numpy()
    finite = np.concatenate([b[np.isfinite(b)], a[np.isfinite(a)], [threshold]])
    xmax = 1.15 * finite.max()

    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(order) + 1.4), constrained_layout=True)
    for values, style, name in ((b, dict(mfc="white", mec="black"), "Before matching"),
                                (a, dict(mfc="black", mec="black"), "After matching")):
        shown = np.where(np.isinf(values), xmax, values)
        ax.plot(shown[np.isfinite(values)], y[np.isfinite(values)], "o", ms=7, ls="none", label=name, **style)
        ax.plot(shown[np.isinf(values)], y[np.isinf(values)], ">", ms=8, ls="none", **style)
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set_yticks(y, [labels.get(v, v) for v in order])
    ax.set_xlim(0, xmax)
    ax.set_xlabel("Absolute standardized mean difference")
    # Above the axes, so that no point is hidden behind it.
    ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    return fig
