"""Figures of the robustness notebook (06): the scaled Schoenfeld residuals of the treatment term, and the
treatment hazard ratio across analyses (the summary forest plot)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from statsmodels.nonparametric.smoothers_lowess import lowess

from helpers.report import fmt


def plot_ph_residuals(panels: Sequence[Mapping], figsize: tuple[float, float] | None = None) -> Figure:
    """Scaled Schoenfeld residuals of the treatment term against time, one panel each.

    Each panel: ``residuals`` (:attr:`helpers.stats.survival.ZphResult.residuals`), ``column`` (the treatment
    term), ``title``, ``p_value`` (the ``cox.zph`` test) and ``note`` (why there is no test). The points are
    :math:`\\hat\\beta + d\\,V r_i` (R's ``plot(cox.zph(fit))``), drawn on the log-hazard-ratio scale with a
    LOWESS smooth (statsmodels, frac 2/3, no robustness iterations: a local mean, as R's spline smooth is) and the fitted coefficient as a dashed line: a smooth that drifts
    from the line says the hazard ratio changes over follow-up.
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
        ax.scatter(t, y, s=9, color="0.35", alpha=0.7, linewidths=0)
        if len(t) >= 4:
            smooth = lowess(y, t, frac=2 / 3, it=0, return_sorted=True)  # a local mean, no robustness step
            ax.plot(smooth[:, 0], smooth[:, 1], color="C3", lw=1.6, label="LOWESS")
        beta = float(np.mean(y))  # the scaled residuals average to the fitted coefficient
        ax.axhline(beta, color="C0", ls="--", lw=1, label=f"fitted log HR ({beta:.2f})")
        ax.axhline(0, color="0.6", lw=0.6)
        ax.legend(fontsize=7, loc="upper right", frameon=False)
        ax.text(0.02, 0.03, f"PH test {fmt.p_text(panel['p_value'], panel.get('note', ''))}",
                transform=ax.transAxes, fontsize=8)
    fig.tight_layout()
    return fig


def plot_effect_summary(effects: pd.DataFrame, published: Mapping[str, float] | None = None,
                        figsize: tuple[float, float] | None = None) -> Figure:
    """Forest plot of the treatment hazard ratio across analyses, one panel per endpoint, log scale.

    ``effects``: rows ``endpoint``, ``analysis`` (label), ``hr``, ``ci_lower``, ``ci_upper``, ``note``;
    ``published``: endpoint -> the published HR, marked by a dotted line. A row that is not estimable is
    listed with the reason instead of a point.
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
        ax.errorbar(hr[ok], y[ok], xerr=[hr[ok] - lo[ok], hi[ok] - hr[ok]], fmt="s", color="C0", ms=4, capsize=2)
        for yi, row in zip(y, block.itertuples()):
            label = (fmt.hr_ci(row.hr, row.ci_lower, row.ci_upper) if pd.notna(row.hr)
                     else fmt.not_estimable(row.note))
            ax.annotate(label, (1.02, yi), xycoords=("axes fraction", "data"), va="center", fontsize=7)
        ax.axvline(1, color="0.4", lw=0.8)
        if not ok.any():
            ax.set_xlim(0.1, 10)
        title = ep
        if published and ep in published and np.isfinite(published[ep]):
            ax.axvline(published[ep], color="C3", ls=":", lw=1.2)
            title = f"{ep} (dotted: published HR {published[ep]:.2f})"
        ax.set_xscale("log")
        ticks = [v for v in (0.1, 0.2, 0.5, 1, 2, 5) if ax.get_xlim()[0] <= v <= ax.get_xlim()[1]]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_yticks(y, block["analysis"].tolist())
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("HR, SBRT+TACE vs SBRT alone (95% CI)")
    # fixed margins (the analysis labels on the left, the HR text right of each panel); the saved figure is cropped
    # to its contents, and long "not estimable (reason)" texts cannot make a layout engine fail
    fig.subplots_adjust(left=0.3, right=0.82, wspace=0.75, bottom=0.2)
    return fig
