"""Survival figures: Kaplan-Meier curves with a number-at-risk table, forest plots.

All numbers come from :mod:`helpers.stats.survival`; this module only draws.
Plain matplotlib, sized for a journal column; fonts follow ``rcParams``.
"""
from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from helpers.report import fmt
from helpers.report.labels import term_label
from helpers.stats.survival import ConfType, kaplan_meier, logrank_test

#: Okabe-Ito colours: distinguishable with colour-vision deficiency and in grey.
OKABE_ITO: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

DEFAULT_MONTHS_TICKS: tuple[float, ...] = (0, 12, 24, 36, 48, 60)


def _colors_for(groups: Sequence, colors) -> dict:
    if colors is None:
        return {g: OKABE_ITO[i % len(OKABE_ITO)] for i, g in enumerate(groups)}
    if isinstance(colors, Mapping):
        return {g: colors.get(g, OKABE_ITO[i % len(OKABE_ITO)]) for i, g in enumerate(groups)}
    colors = list(colors)
    return {g: colors[i % len(colors)] for i, g in enumerate(groups)}


def _resolve_axes(ax_or_fig, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax_or_fig is None:
        fig = plt.figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    if isinstance(ax_or_fig, Axes):
        return ax_or_fig.figure, ax_or_fig
    if isinstance(ax_or_fig, Figure):
        return ax_or_fig, ax_or_fig.add_subplot()
    raise TypeError("ax_or_fig must be None, a matplotlib Axes or a Figure")


def _step_arrays(table: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Curve and band from time 0 (S = 1); a NaN band where S = 1 is drawn as zero width."""
    t = np.concatenate([[0.0], table["time"].to_numpy(float)])
    s = np.concatenate([[1.0], table["survival"].to_numpy(float)])
    lo = np.concatenate([[1.0], table["ci_lower"].to_numpy(float)])
    hi = np.concatenate([[1.0], table["ci_upper"].to_numpy(float)])
    flat_top = np.isnan(lo) & (s == 1)
    lo[flat_top], hi[flat_top] = 1.0, 1.0
    return t, s, lo, hi


def _points_below_axis(ax: Axes, points: float) -> transforms.Transform:
    """x in data units, y at the bottom of the axes shifted down by ``points``."""
    base = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    return base + transforms.ScaledTranslation(0, -points / 72.0, ax.figure.dpi_scale_trans)


def _points_below_axis_left(ax: Axes, points: float, left_points: float = 0.0) -> transforms.Transform:
    """Axes coordinates shifted down by ``points`` and left by ``left_points``."""
    shift = transforms.ScaledTranslation(-left_points / 72.0, -points / 72.0, ax.figure.dpi_scale_trans)
    return ax.transAxes + shift


def number_at_risk(time, months: Sequence[float]) -> list[int]:
    """Subjects still under observation at each time (follow-up >= m), as survminer.

    Examples
    --------
    >>> number_at_risk([3, 12, 12, 30], [0, 12, 24, 36])
    [4, 3, 1, 0]
    """
    t = np.asarray(time, dtype=float)
    t = t[~np.isnan(t)]
    return [int(np.sum(t >= m)) for m in months]


def risk_counts(time, event, months: Sequence[float]) -> pd.DataFrame:
    """KMunicate counts at each time: number at risk, cumulative events and cumulative censored.

    As R's ``summary(survfit(...), times = months, extend = TRUE)``: at risk are
    those with follow-up >= m; events and censored are counted up to and
    including m (``cumsum`` of ``n.event`` and ``n.censor``), as in Morris et
    al. (2019, BMJ Open 9:e030215) and ggsurvfit's ``add_risktable(risktable_stats
    = c("n.risk", "cum.censor", "cum.event"))``.

    Examples
    --------
    R: ``s <- summary(survfit(Surv(time, status) ~ 1, aml[aml$x == "Maintained", ]),
    times = c(0, 12, 24, 36, 48), extend = TRUE); s$n.risk; cumsum(s$n.event); cumsum(s$n.censor)``
    gives 11 10 6 3 2; 0 1 4 6 7; 0 0 1 2 3.

    >>> t = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
    >>> e = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
    >>> risk_counts(t, e, [0, 12, 24, 36, 48]).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'months': [0.0, 12.0, 24.0, 36.0, 48.0], 'at_risk': [11, 10, 6, 3, 2], 'events': [0, 1, 4, 6, 7],
     'censored': [0, 0, 1, 2, 3]}
    """
    t = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=float)
    keep = ~(np.isnan(t) | np.isnan(d))
    t, d = t[keep], d[keep]
    months = [float(m) for m in months]
    return pd.DataFrame({
        "months": months,
        "at_risk": number_at_risk(t, months),
        "events": [int(np.sum((t <= m) & (d == 1))) for m in months],
        "censored": [int(np.sum((t <= m) & (d == 0))) for m in months],
    })


def km_ticks(max_months: float, step: float | None = None) -> list[float]:
    """x ticks from 0 to ``max_months``: every 12 months up to 5 years, else every 24.

    >>> km_ticks(60), km_ticks(144)
    ([0.0, 12.0, 24.0, 36.0, 48.0, 60.0], [0.0, 24.0, 48.0, 72.0, 96.0, 120.0, 144.0])
    """
    if max_months <= 0:
        raise ValueError(f"max_months must be positive, not {max_months}")
    step = step or (12.0 if max_months <= 60 else 24.0)
    return [float(m) for m in np.arange(0.0, max_months + 1e-9, step)]


def plot_km(ax_or_fig, data: pd.DataFrame, time_col: str, event_col: str, group_col: str,
            group_order: Sequence | None = None, colors=None, title: str = "",
            months_ticks: Sequence[float] = DEFAULT_MONTHS_TICKS, *,
            ylabel: str = "Survival (probability)", xlabel: str = "Months since SBRT",
            group_labels: Mapping | None = None, conf_level: float = 0.95,
            conf_type: ConfType = "log-log", show_ci: bool = True, show_censors: bool = True,
            show_pvalue: bool = True, risk_table: bool = True, legend_loc: str = "top",
            logrank_p: float | None = None, logrank_reason: str = "",
            figsize: tuple[float, float] = (6.0, 6.2)) -> Figure:
    """Kaplan-Meier curves by group with confidence bands, censor marks, log-rank p
    and, under the x-axis, a KMunicate table (Morris et al. 2019): per arm the
    number at risk, the cumulative number censored and of events at each tick
    (see :func:`risk_counts`).

    Parameters
    ----------
    ax_or_fig : Axes, Figure or None
        Where to draw: an existing Axes (e.g. a panel of a grid), a Figure (a new
        Axes is added), or None (a new constrained-layout Figure).
    data : pandas.DataFrame
        One row per patient.
    time_col, event_col, group_col : str
        Time in months, event 1/0, and the grouping column (e.g. ``"arm"``).
    group_order : sequence, optional
        Groups in legend and table order (default sorted).
    colors : mapping or sequence, optional
        Colour per group (default Okabe-Ito).
    title : str
        Axes title (e.g. ``"Overall survival"``).
    months_ticks : sequence of float
        x ticks in months (e.g. :func:`km_ticks`); the counts are given at each;
        the x-axis ends at the last tick.
    ylabel : str
        The y-axis; name the endpoint (:func:`helpers.report.labels.km_axis_label`).
    group_labels : mapping, optional
        Display names for the groups (legend and table).
    conf_level, conf_type
        Band of :func:`helpers.stats.survival.kaplan_meier` (95% log-log by default).
    show_ci, show_censors, show_pvalue, risk_table : bool
        Toggle the bands, the "+" marks, the log-rank p and the table.
    logrank_p, logrank_reason
        The log-rank p computed by the analysis (``results/logrank.csv``) and,
        when it is NaN, why; if None, :func:`helpers.stats.survival.logrank_test` is
        run on ``data``.
    legend_loc : str
        ``"top"`` (default): one row above the plot, clear of the curves
        (which, starting at 1, often fill the upper right); otherwise any
        matplotlib legend location inside the axes. The log-rank p sits in
        the lower left, which survival curves rarely reach.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes. The risk table is drawn as text below the
        axes (at fixed point offsets, so it follows the axes in any layout);
        when passing your own Axes, create the figure with
        ``layout="constrained"`` (or save with ``bbox_inches="tight"``) so that
        the table is not cut off.
    """
    fig, ax = _resolve_axes(ax_or_fig, figsize)
    frame = data[[time_col, event_col, group_col]].dropna()
    present = list(pd.unique(frame[group_col]))
    groups = [g for g in (group_order or sorted(present, key=str)) if g in present]
    palette = _colors_for(groups, colors)
    labels = {g: str((group_labels or {}).get(g, g)) for g in groups}
    ticks = [float(m) for m in months_ticks]
    x_max = ticks[-1] if ticks else float(frame[time_col].max())

    # Each group's rows found once (the arms of a 10^6-patient panel are not compared cell by cell per use).
    codes, found = pd.factorize(frame[group_col])
    members = {g: codes == found.get_loc(g) for g in groups}
    for g in groups:
        sub = frame[members[g]]
        table = kaplan_meier(sub[time_col], sub[event_col], conf_level, conf_type)
        if table.empty:
            continue
        t, s, lo, hi = _step_arrays(table)
        color = palette[g]
        ax.step(t, s, where="post", color=color, lw=1.6, label=f"{labels[g]} (n = {len(sub)})", zorder=3)
        if show_ci:
            ax.fill_between(t, lo, hi, step="post", color=color, alpha=0.15, lw=0, zorder=1)
        if show_censors:
            cens = table[table["n_censor"] > 0]
            ax.plot(cens["time"], cens["survival"], ls="none", marker="+", ms=7, mew=1.1, color=color,
                    zorder=4, clip_on=True)

    ax.set_xlim(0, x_max)
    ax.set_ylim(0, 1.02)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.1f}"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    if groups and legend_loc == "top":
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=len(groups), frameon=False,
                  fontsize="small", handlelength=1.6, borderaxespad=0.2, columnspacing=1.2)
    elif groups:
        ax.legend(loc=legend_loc, frameon=False, fontsize="small", handlelength=1.6)
    if title:
        # Above the legend row when the legend is on top.
        ax.set_title(title, loc="left", fontweight="bold", pad=22 if groups and legend_loc == "top" else 6)

    # Say what is missing rather than leave an empty panel for the reader to interpret.
    absent = [g for g in (group_order or []) if g not in present]
    if not groups or absent:
        what = "No patients" if not groups else "No patients in " + " or ".join(
            str((group_labels or {}).get(g, g)) for g in absent)
        ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", fontsize="medium",
                color="0.35")
    if show_pvalue and len(groups) >= 2:
        if logrank_p is None:
            logrank_p = logrank_test(frame[time_col], frame[event_col], frame[group_col], group_order=groups).p_value
            logrank_reason = logrank_reason or ("no events" if frame[event_col].sum() == 0 else "")
        text = "Log-rank " + fmt.p_text(logrank_p, logrank_reason)
        ax.text(0.03, 0.04, text, transform=ax.transAxes, ha="left", va="bottom", fontsize="small")

    if risk_table:
        _draw_risk_table(ax, frame, time_col, event_col, members, groups, labels, palette, ticks)
    return fig


#: The KMunicate rows, in Morris et al.'s order, and their keys in :func:`risk_counts`.
KMUNICATE_ROWS: tuple[tuple[str, str], ...] = (("Number at risk", "at_risk"), ("Censored", "censored"),
                                                ("Events", "events"))


def _draw_risk_table(ax: Axes, frame: pd.DataFrame, time_col: str, event_col: str, members: Mapping,
                     groups: Sequence, labels: Mapping, palette: Mapping, ticks: Sequence[float]) -> None:
    size = plt.rcParams["font.size"]
    small = size * 0.8
    # Below the tick labels and the x label: tick + pad + label + labelpad + xlabel, with air.
    y = 3.5 + 3.5 + size + 4.0 + size + 8.0
    row = small * 1.35
    counts = {g: risk_counts(frame.loc[members[g], time_col], frame.loc[members[g], event_col], ticks)
              for g in groups}
    for title, key in KMUNICATE_ROWS:
        ax.text(0.0, 0.0, title, transform=_points_below_axis_left(ax, y),
                ha="left", va="top", fontsize=small, fontweight="bold", clip_on=False)
        for g in groups:
            y += row
            # Right-aligned left of the axis, clear of the centred count under tick 0.
            ax.text(0.0, 0.0, labels[g], transform=_points_below_axis_left(ax, y, left_points=2.2 * small),
                    ha="right", va="top", fontsize=small, color=palette[g], clip_on=False)
            for m, n in zip(ticks, counts[g][key]):
                ax.text(m, 0.0, str(n), transform=_points_below_axis(ax, y), ha="center", va="top",
                        fontsize=small, color=palette[g], clip_on=False)
        y += row * 1.15


def plot_km_grid(panels: Sequence[Mapping], nrows: int = 2, ncols: int = 3,
                 figsize: tuple[float, float] | None = None, letters: bool = True) -> Figure:
    """Several :func:`plot_km` panels in one figure, lettered A, B, C, ...

    Parameters
    ----------
    panels : sequence of mapping
        Keyword arguments of :func:`plot_km` for each panel (``data``,
        ``time_col``, ``event_col``, ``group_col``, ``title``, ...), filled row
        by row; e.g. OS, PFS, LC before matching on the first row and after
        matching on the second.
    nrows, ncols : int
        Grid shape (2 x 3 by default).

    Returns
    -------
    matplotlib.figure.Figure
    """
    figsize = figsize or (5.0 * ncols, 6.2 * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", squeeze=False)
    fig.get_layout_engine().set(h_pad=0.25, w_pad=0.15)
    flat = axes.ravel()
    for i, ax in enumerate(flat):
        if i >= len(panels):
            ax.set_visible(False)
            continue
        plot_km(ax, **dict(panels[i]))
        if letters:
            # Level with the panel title (drawn 22 pt above the axes when the legend is on top).
            lift = transforms.ScaledTranslation(0, 20 / 72.0, fig.dpi_scale_trans)
            ax.text(-0.14, 1.0, string.ascii_uppercase[i], transform=ax.transAxes + lift, fontsize="x-large",
                    fontweight="bold", ha="left", va="bottom")
    return fig


# ---------------------------------------------------------------------------
# Forest plot
# ---------------------------------------------------------------------------

def plot_forest(table: pd.DataFrame, title: str = "", labels: Mapping[str, str] | None = None,
                levels: Mapping[str, Sequence[str]] | None = None,
                models: Sequence[str] = ("univariate", "multivariate"),
                figsize: tuple[float, float] | None = None) -> Figure:
    """Forest plot of hazard ratios (log scale) with HR (95% CI) and p columns.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`helpers.stats.survival.univariate_then_multivariate_cox`
        (columns ``model, term, hr, ci_lower, ci_upper, p_value``), or a
        :class:`~helpers.stats.survival.CoxResult` ``table`` (no ``model`` column: one
        panel).
    title : str
        Figure title.
    labels : mapping, optional
        Display label per term (default :func:`helpers.report.labels.term_label`, the
        Table 1 label and the contrast, e.g. ``"Child-Pugh classification: B vs A"``).
    levels : mapping, optional
        Levels per column, reference first, for the default labels.
    models : sequence of str
        Panels, side by side, sharing the rows (one per term, in the order of
        first appearance). A term absent from a model shows "—"; a term
        without an estimate shows "not estimable" and no marker.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tab = table.copy()
    if "model" not in tab.columns:
        tab["model"] = ""
        models = ("",)
    models = [m for m in models if (tab["model"] == m).any()] or list(pd.unique(tab["model"]))
    terms = list(pd.unique(tab["term"]))
    names = [(labels or {}).get(t, term_label(t, levels)) for t in terms]
    n_rows = len(terms)
    y = np.arange(n_rows)[::-1].astype(float)

    finite = tab[["ci_lower", "ci_upper"]].to_numpy(float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    lo_lim = max(min(finite.min() / 1.3, 0.8), 1e-2) if finite.size else 0.1
    hi_lim = min(max(finite.max() * 1.3, 1.25), 1e2) if finite.size else 10.0

    width_ratios = []
    for _ in models:
        width_ratios += [3.0, 2.0]
    figsize = figsize or (2.2 + 4.6 * len(models), 1.3 + 0.32 * max(n_rows, 1))
    fig, axes = plt.subplots(1, 2 * len(models), figsize=figsize, layout="constrained", sharey=True,
                             gridspec_kw={"width_ratios": width_ratios, "wspace": 0.0})
    axes = np.atleast_1d(axes)
    for k, model in enumerate(models):
        ax, tx = axes[2 * k], axes[2 * k + 1]
        rows = tab[tab["model"] == model].drop_duplicates("term").set_index("term")
        ax.axvline(1.0, color="0.5", lw=0.8, ls="--", zorder=0)
        for yi, term in zip(y, terms):
            if term not in rows.index:
                tx.text(0.0, yi, "—", va="center", ha="left", fontsize="small", color="0.4")
                continue
            r = rows.loc[term]
            hr, lo, hi, p = (float(r[c]) for c in ("hr", "ci_lower", "ci_upper", "p_value"))
            estimable = all(np.isfinite(v) and v > 0 for v in (hr, lo, hi))
            tx.text(0.0, yi, fmt.hr_ci(hr, lo, hi), va="center", ha="left", fontsize="small",
                    color="black" if estimable else "0.4", style="normal" if estimable else "italic")
            tx.text(0.76, yi, fmt.p_value(p) if estimable else "", va="center", ha="left", fontsize="small")
            if not estimable:
                continue
            ax.plot([max(lo, lo_lim), min(hi, hi_lim)], [yi, yi], color="black", lw=1.1, solid_capstyle="butt")
            ax.plot(hr, yi, marker="s", ms=5.5, color="#0072B2" if k == 0 else "#D55E00", zorder=3)
            if lo < lo_lim:  # interval runs off the axis: arrow head at the edge
                ax.plot(lo_lim, yi, marker="<", ms=4, color="black", clip_on=False)
            if hi > hi_lim:
                ax.plot(hi_lim, yi, marker=">", ms=4, color="black", clip_on=False)
        ax.set_xscale("log")
        ax.set_xlim(lo_lim, hi_lim)
        candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
        ax.xaxis.set_major_locator(FixedLocator([c for c in candidates if lo_lim <= c <= hi_lim]))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("Hazard ratio (95% CI, log scale)", fontsize="small")
        ax.spines[["top", "right", "left"]].set_visible(False)
        ax.tick_params(axis="y", length=0)
        ax.set_title(model.capitalize() if model else "", fontweight="bold", fontsize="medium", loc="center")
        tx.set_xlim(0, 1)
        tx.axis("off")
        tx.text(0.0, 1.0, "HR (95% CI)", transform=tx.transAxes, ha="left", va="bottom", fontweight="bold",
                fontsize="small")
        tx.text(0.76, 1.0, "p", transform=tx.transAxes, ha="left", va="bottom", fontweight="bold",
                fontsize="small", style="italic")
    axes[0].set_ylim(-0.7, n_rows - 0.3)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(names)
    if title:
        fig.suptitle(title, fontweight="bold")
    return fig


__all__ = [
    "OKABE_ITO", "KMUNICATE_ROWS", "number_at_risk", "risk_counts", "km_ticks", "plot_km", "plot_km_grid",
    "plot_forest",
]
