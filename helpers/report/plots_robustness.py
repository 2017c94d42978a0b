"""Figures of the robustness notebook (06): the scaled Schoenfeld residuals of the treatment term, the
treatment hazard ratio across analyses (the summary forest plot) and across the matching-settings grid, and
the distribution of the inverse probability weights."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from statsmodels.nonparametric.smoothers_lowess import lowess

from helpers.report import fmt

#: Above this many residuals a panel's points are drawn as an image (no vector mark per event) and the LOWESS
#: smooth interpolates within 1% of the time range (``delta``, R's ``lowess`` default) instead of fitting at
#: every point: at registry scale a panel has hundreds of thousands of events.
LARGE_PANEL_POINTS = 5_000


def plot_ph_residuals(panels: Sequence[Mapping], figsize: tuple[float, float] | None = None) -> Figure:
    """Scaled Schoenfeld residuals of the treatment term against time, one panel each.

    Each panel: ``residuals`` (:attr:`helpers.stats.survival.ZphResult.residuals`), ``column`` (the treatment
    term), ``title``, ``p_value`` (the ``cox.zph`` test) and ``note`` (why there is no test). The points are
    :math:`\\hat\\beta + d\\,V r_i` (R's ``plot(cox.zph(fit))``), drawn on the log-hazard-ratio scale with a
    LOWESS smooth (statsmodels, frac 2/3, no robustness iterations: a local mean, as R's spline smooth is) and the fitted coefficient as a dashed line: a smooth that drifts
    from the line says the hazard ratio changes over follow-up. A panel of more than
    :data:`LARGE_PANEL_POINTS` residuals has its points rasterized and its smooth computed with
    ``delta`` = 1% of the time range (R's ``lowess`` default; exact below that size).
    """
    fig, axes = plt.subplots(1, len(panels), figsize=figsize or (4.2 * len(panels), 3.4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        res, col = panel["residuals"], panel["column"]
        ax.set_title(panel["title"], fontsize=9)
        ax.set_xlabel("Months since SBRT")
        ax.set_ylabel("Beta(t) of SBRT+TACE (log HR)")
        if res is None or len(res) == 0 or col not in res:
            ax.text(0.5, 0.5, fmt.not_estimable(panel.get("note", "")), ha="center", va="center",
                    transform=ax.transAxes, wrap=True)
            continue
        t, y = res["time"].to_numpy(float), res[col].to_numpy(float)
        large = len(t) > LARGE_PANEL_POINTS
        ax.scatter(t, y, s=9, color="0.35", alpha=0.7, linewidths=0, rasterized=large)
        if len(t) >= 4:
            delta = 0.01 * float(np.ptp(t)) if large else 0.0
            # a local mean, no robustness step
            smooth = lowess(y, t, frac=2 / 3, it=0, delta=delta, return_sorted=True)
            ax.plot(smooth[:, 0], smooth[:, 1], color="C3", lw=1.6, label="LOWESS")
        beta = float(np.mean(y))  # the scaled residuals average to the fitted coefficient
        ax.axhline(beta, color="C0", ls="--", lw=1, label=f"fitted log HR ({beta:.2f})")
        ax.axhline(0, color="0.6", lw=0.6)
        ax.legend(fontsize=7, loc="upper right", frameon=False)
        ax.text(0.02, 0.03, f"PH test {fmt.p_text(panel['p_value'], panel.get('note', ''))}",
                transform=ax.transAxes, fontsize=8)
    fig.tight_layout()
    return fig


def _hr_axis(ax, endpoint: str, published: Mapping[str, float] | None, estimable: bool, y: np.ndarray,
             labels: list[str]) -> None:
    """A forest panel's axes: HR 1 and the published HR (dotted, in the title), log scale, the row labels."""
    ax.axvline(1, color="0.4", lw=0.8)
    if not estimable:
        ax.set_xlim(0.1, 10)
    title = endpoint
    if published and endpoint in published and np.isfinite(published[endpoint]):
        ax.axvline(published[endpoint], color="C3", ls=":", lw=1.2)
        title = f"{endpoint} (dotted: published HR {published[endpoint]:.2f})"
    ax.set_xscale("log")
    ticks = [v for v in (0.1, 0.2, 0.5, 1, 2, 5) if ax.get_xlim()[0] <= v <= ax.get_xlim()[1]]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_yticks(y, labels)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("HR, SBRT+TACE vs SBRT alone (95% CI)")


def plot_effect_summary(effects: pd.DataFrame, published: Mapping[str, float] | None = None,
                        figsize: tuple[float, float] | None = None) -> Figure:
    """Forest plot of the treatment hazard ratio across analyses, one panel per endpoint, log scale.

    ``effects``: rows ``endpoint``, ``analysis`` (label), ``hr``, ``ci_lower``, ``ci_upper``, ``note``;
    ``published``: endpoint -> the published HR, marked by a dotted line; a row whose analysis starts with
    "Published" (the paper's estimate and CI) is drawn in red. A row that is not estimable is listed with the
    reason instead of a point.
    """
    endpoints = list(dict.fromkeys(effects["endpoint"]))
    n_rows = effects.groupby("endpoint").size().max() if len(effects) else 1
    fig, axes = plt.subplots(1, len(endpoints) or 1, figsize=figsize or (4.6 * max(len(endpoints), 1),
                                                                      0.45 * n_rows + 1.4),
                             squeeze=False, sharey=True)
    for ax, ep in zip(axes[0], endpoints):
        block = effects[effects["endpoint"] == ep].reset_index(drop=True)
        y = np.arange(len(block))[::-1]
        ok = block["hr"].notna().to_numpy()
        hr, lo, hi = (block[c].to_numpy(float) for c in ("hr", "ci_lower", "ci_upper"))
        pub = block["analysis"].str.startswith("Published").to_numpy()
        for rows, color, marker in ((ok & ~pub, "C0", "s"), (ok & pub, "C3", "D")):
            ax.errorbar(hr[rows], y[rows], xerr=[hr[rows] - lo[rows], hi[rows] - hr[rows]], fmt=marker, color=color,
                        ms=4, capsize=2)
        for yi, row in zip(y, block.itertuples()):
            label = (fmt.hr_ci(row.hr, row.ci_lower, row.ci_upper) if pd.notna(row.hr)
                     else fmt.not_estimable(row.note))
            ax.annotate(label, (1.02, yi), xycoords=("axes fraction", "data"), va="center", fontsize=7)
        _hr_axis(ax, ep, published, bool(ok.any()), y, block["analysis"].tolist())
    # fixed margins (the analysis labels on the left, the HR text right of each panel); the saved figure is cropped
    # to its contents, and long "not estimable (reason)" texts cannot make a layout engine fail
    fig.subplots_adjust(left=0.3, right=0.82, wspace=0.75, bottom=0.2)
    return fig


#: Ticks of the weights' log axis.
WEIGHT_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100)


def plot_iptw_weights(weighted: pd.DataFrame, notes: Mapping[str, str], arms: Sequence[str],
                      estimands: Mapping[str, str], figsize: tuple[float, float] | None = None) -> Figure:
    """Distribution of the inverse probability weights, one panel per estimand, one histogram per arm (log
    scale of the weight); a panel whose weights are not estimable says why."""
    fig, axes = plt.subplots(1, len(estimands), figsize=figsize or (4.4 * len(estimands), 3.2), squeeze=False)
    for ax, (est, title) in zip(axes[0], estimands.items()):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("Weight (log scale)")
        ax.set_ylabel("Patients")
        w = weighted[f"w_{est}"].to_numpy(float) if len(weighted) else np.array([])
        if notes.get(est) or not np.isfinite(w).any() or not (w > 0).any():
            ax.text(0.5, 0.5, fmt.not_estimable(notes.get(est) or "no weights"), ha="center", va="center",
                    transform=ax.transAxes, wrap=True, fontsize=8)
            continue
        positive = w[np.isfinite(w) & (w > 0)]
        lo, hi = positive.min(), positive.max()
        bins = np.geomspace(lo / 1.05, hi * 1.05, 25) if hi > lo * 1.01 else np.geomspace(lo / 1.5, lo * 1.5, 5)
        for i, arm in enumerate(arms):
            x = w[(weighted["arm"] == arm).to_numpy() & np.isfinite(w) & (w > 0)]
            ax.hist(x, bins=bins, alpha=0.55, color=f"C{i}", label=f"{arm} (n = {x.size})")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator([v for v in WEIGHT_TICKS if lo / 1.5 <= v <= hi * 1.5]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def plot_grid_hr(grid: pd.DataFrame, published: Mapping[str, float] | None = None,
                 figsize: tuple[float, float] | None = None) -> Figure:
    """The treatment HR (95% CI, log scale) in each cell of the matching-settings grid, one panel per endpoint:
    the cells grouped by caliper, one marker per ratio, matched patients beside each; the published HR dotted.
    A cell that is not estimable is listed with the reason instead of a point."""
    endpoints = list(dict.fromkeys(grid["endpoint"]))
    n_cells = grid["cell"].nunique() if len(grid) else 1
    fig, axes = plt.subplots(1, max(len(endpoints), 1), figsize=figsize or (4.8 * max(len(endpoints), 1),
                                                                          0.32 * n_cells + 1.5),
                             squeeze=False, sharey=True)
    ratios = sorted(grid["ratio"].unique()) if len(grid) else []
    markers = dict(zip(ratios, "osD^v"))
    for ax, ep in zip(axes[0], endpoints):
        block = grid[grid["endpoint"] == ep].reset_index(drop=True)
        y = np.arange(len(block))[::-1]
        for yi, r in zip(y, block.itertuples()):
            if pd.notna(r.hr):
                ax.errorbar([r.hr], [yi], xerr=[[r.hr - r.ci_lower], [r.ci_upper - r.hr]],
                            fmt=markers.get(r.ratio, "o"), color=f"C{ratios.index(r.ratio)}", ms=4, capsize=2)
            label = (f"{fmt.hr_ci(r.hr, r.ci_lower, r.ci_upper)}, n = {r.n_treated}+{r.n_control}"
                     if pd.notna(r.hr) else fmt.not_estimable(r.note))
            ax.annotate(label, (1.02, yi), xycoords=("axes fraction", "data"), va="center", fontsize=6.5)
        _hr_axis(ax, ep, published, bool(block["hr"].notna().any()), y, block["cell"].tolist())
    fig.subplots_adjust(left=0.16, right=0.74, wspace=0.9, bottom=0.15)
    return fig
