"""The house style for report figures (one place): seaborn, readable at A4, colour-blind safe.

Every figure: a title that says what is shown, axis labels with units, Danish number format, the
municipality in focus in one strong colour and its peers in grey. Functions return the matplotlib
Figure so notebooks can display it; they never compute key figures (that is the mart's job).

Readable at A4 means: the figure is 16 cm wide (the text width), bar charts grow in height with the
number of bars, and long labels (building names) are wrapped onto at most two lines.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Collection

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch

from noegletal import formatting

# seaborn's colour-blind palette: focus = blue, comparison = orange, then grey for peers
PALETTE = sns.color_palette("colorblind")
FOCUS = PALETTE[0]
COMPARE = PALETTE[1]
ACCENT = PALETTE[2]
PEER = "#b0b0b0"
PEER_SET = "#9ec3e6"  # the municipality's own peer set among all members: a light tone of FOCUS
A4_WIDTH_IN = 6.3  # 16 cm text width on A4 with 2.5 cm margins
LABEL_WIDTH = 34  # characters per line of a bar label before it wraps
TITLE_WIDTH = 62  # characters per line of a figure title at A4 width


def setup() -> None:
    """Apply the house style; call once at the top of a notebook (the runner's kernels reuse it)."""
    _inline_display()
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE, font_scale=1.15)
    plt.rcParams.update(
        {
            "figure.figsize": (A4_WIDTH_IN, 3.4),
            "figure.dpi": 110,
            "savefig.dpi": 150,
            "figure.autolayout": False,
            "figure.constrained_layout.use": True,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.titlesize": 11,
            "legend.frameon": False,
            "svg.hashsalt": "noegletal",  # deterministic output
        }
    )


def _inline_display() -> None:
    """In a Jupyter kernel, show a returned Figure as PNG.

    A notebook (or a library it imports) may have switched matplotlib to another backend, which
    would show a figure as its text repr; the inline backend is switched on here (the batch
    runner's kernels have it already; switching again changes nothing). Outside a kernel
    matplotlib picks a headless backend by itself.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")


def danish_axis(ax, axis: str = "y", decimals: int | None = None, unit: str = "") -> str:
    """Tick labels in Danish number format (1.234,5); returns the axis label for `unit`.

    At most six ticks. Large amounts are shown in thousands or millions ("1,5" with the label
    "mio. kr.") so tick labels never run into each other; without `decimals`, the number of
    decimals follows the tick spacing (no two ticks with the same label).
    """
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(mticker.MaxNLocator(nbins=6 if axis == "y" else 5, steps=[1, 2, 2.5, 5, 10]))
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    top = max(abs(lo), abs(hi))
    scale, prefix = (1e6, "mio. ") if top >= 2e6 else (1e3, "1.000 ") if top >= 2e4 and unit.startswith("kr") else (1, "")
    if decimals is None:
        ticks = [t for t in target.get_major_locator().tick_values(lo, hi)]
        step = min((b - a for a, b in zip(ticks, ticks[1:])), default=1.0) / scale
        decimals = 0 if step >= 1 else 1 if step >= 0.1 else 2
    target.set_major_formatter(mticker.FuncFormatter(lambda v, _pos: formatting.number(v / scale + 0.0, decimals)))
    return f"{prefix}{unit}".strip() if unit else ""


def wrap(label, width: int = LABEL_WIDTH) -> str:
    """A long label on at most two lines (the second cut with '…'), so bar labels never overlap."""
    lines = textwrap.wrap(str(label), width=width, break_long_words=True) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width=width, placeholder=" …")]
    return "\n".join(lines)


def _bar_height(labels: list[str], per_line: float = 0.2, gap: float = 0.1, extra: float = 1.1) -> float:
    """Figure height (inches) that gives every bar label room for its lines."""
    lines = sum(label.count("\n") + 1 for label in labels)
    return max(2.4, per_line * lines + gap * len(labels) + extra)


def _finish(fig, ax, title: str, xlabel: str, ylabel: str):
    # the title belongs to the figure, left-aligned with its edge: an axes title starts where the axes
    # start (right of long bar labels) and would run off the 16 cm
    fig.suptitle(textwrap.fill(title, TITLE_WIDTH), x=0.01, ha="left", fontweight="bold", fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    plt.close(fig)  # the notebook displays the returned figure; keep pyplot's state empty
    return fig


def _period_label(periode: str) -> str:
    return formatting.period(periode).replace(". kvartal ", ". kv. ")


def trend(
    data: pd.DataFrame,
    title: str,
    unit: str,
    focus_label: str,
    compare_label: str | None = None,
    x: str = "periode",
    focus: str = "vaerdi",
    compare: str | None = None,
    band: tuple[str, str] | None = None,
    band_label: str = "Bygninger p10–p90",
):
    """Own development over time, optionally with a comparison line (e.g. peer value) and a band (p10–p90).

    The value axis starts at 0, so a small change looks small.
    """
    fig, ax = plt.subplots()
    _trend_axes(ax, data, x, focus, focus_label, compare, compare_label, band, band_label, unit)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=3)
    return _finish(fig, ax, title, "", danish_axis(ax, "y", unit=unit))


def trends(panels: list[tuple[pd.DataFrame, str, str]], focus_label: str, compare_label: str | None = None,
           focus: str = "vaerdi", compare: str | None = None, band: tuple[str, str] | None = None,
           band_label: str = "Bygninger p10–p90", title: str = ""):
    """Small multiples: one trend panel per (data, title, unit), two per row, one shared legend.

    A panel's band label can differ from the others (e.g. municipalities instead of buildings): give
    the data frame an attrs["band_label"]; the legend shows every label once.
    """
    n_rows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(n_rows, 2, figsize=(A4_WIDTH_IN, 2.7 * n_rows + 0.6), squeeze=False)
    for ax, (data, panel_title, unit) in zip(axes.flat, panels):
        _trend_axes(ax, data, "periode", focus, focus_label, compare, compare_label, band,
                    data.attrs.get("band_label", band_label), unit)
        ax.set_title(textwrap.fill(panel_title, 30), fontsize=10)
        ax.set_ylabel(danish_axis(ax, "y", unit=unit))
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    legend: dict[str, object] = {}
    for ax in axes.flat[: len(panels)]:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(text, handle)
    fig.legend(list(legend.values()), list(legend), loc="outside lower center", ncol=min(len(legend), 3))
    if title:
        fig.suptitle(textwrap.fill(title, TITLE_WIDTH), x=0.01, ha="left", fontweight="bold", fontsize=11)
    plt.close(fig)
    return fig


def _trend_axes(ax, data, x, focus, focus_label, compare, compare_label, band, band_label, unit) -> None:
    xs = list(range(len(data)))
    if band is not None:
        ax.fill_between(xs, data[band[0]], data[band[1]], color=PEER, alpha=0.35, linewidth=0, label=band_label)
    if compare is not None:
        ax.plot(xs, data[compare], color=COMPARE, marker="s", linestyle="--", label=compare_label)
    ax.plot(xs, data[focus], color=FOCUS, marker="o", linewidth=2.2, label=focus_label)
    ax.set_xticks(xs, [_period_label(p) for p in data[x]], rotation=30, ha="right")
    ax.set_xlim(-0.3, max(len(xs) - 0.7, 0.3))
    shown = pd.to_numeric(pd.concat([data[c] for c in (focus, compare, *(band or ())) if c is not None]), errors="coerce")
    scale = re.fullmatch(r"grad (\d+)–(\d+)", unit)
    if scale:  # a grade is read on its whole scale
        ax.set_ylim(float(scale.group(1)), float(scale.group(2)))
    elif shown.min() >= 0:
        ax.set_ylim(0, float(shown.max()) * 1.12 or 1.0)


def lines(data: pd.DataFrame, title: str, unit: str, hue: str = "navn", x: str = "periode", y: str = "vaerdi"):
    """Several series over the quarters (e.g. one line per kommunegruppe, in the order they come in), legend below."""
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 3.8))
    periods = sorted(data[x].unique())
    pos = {p: i for i, p in enumerate(periods)}
    for i, (name, part) in enumerate(data.groupby(hue, sort=False)):  # in the order of the data
        part = part.sort_values(x)
        ax.plot([pos[p] for p in part[x]], part[y], marker="o", color=PALETTE[i % len(PALETTE)], label=wrap(name, 40))
    ax.set_xticks(range(len(periods)), [_period_label(p) for p in periods], rotation=30, ha="right")
    if data[y].min() >= 0:
        ax.set_ylim(0, float(data[y].max()) * 1.12 or 1.0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2)
    return _finish(fig, ax, title, "", danish_axis(ax, "y", unit=unit))


def ranking(
    data: pd.DataFrame,
    title: str,
    unit: str,
    label: str = "navn",
    value: str = "vaerdi",
    focus: str | None = None,
    reference: float | None = None,
    reference_label: str = "Sammenligningsgruppe",
    peers: Collection[str] = (),
    peers_label: str = "Sammenligningsgruppen",
):
    """Horizontal bars sorted by value; the row whose label equals `focus` is highlighted, `peers` lightly."""
    data = data.sort_values(value, ascending=True, kind="stable")
    labels = [wrap(lab) for lab in data[label]]
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, _bar_height(labels)))
    colors = [FOCUS if lab == focus else PEER_SET if lab in peers else PEER for lab in data[label]]
    ax.barh(range(len(data)), data[value], color=colors)
    ax.set_yticks(range(len(data)), labels)
    ax.set_ylim(-0.6, len(data) - 0.4)
    handles = []
    if peers:
        handles.append(Patch(color=PEER_SET, label=peers_label))
    if reference is not None:
        handles.append(ax.axvline(reference, color=COMPARE, linestyle="--", linewidth=1.5, label=reference_label))
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=2)
    ax.grid(axis="y", visible=False)
    return _finish(fig, ax, title, danish_axis(ax, "x", unit=unit), "")


def decomposition(data: pd.DataFrame, title: str, unit: str, label: str = "navn", value: str = "bidrag"):
    """A gap split into parts: positive parts (above the comparison) in orange, negative in blue."""
    data = data.iloc[::-1]
    labels = [wrap(lab) for lab in data[label]]
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, _bar_height(labels, per_line=0.2, gap=0.14)))
    colors = [COMPARE if v > 0 else FOCUS for v in data[value]]
    ax.barh(range(len(data)), data[value], color=colors)
    ax.set_yticks(range(len(data)), labels)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.grid(axis="y", visible=False)
    return _finish(fig, ax, title, danish_axis(ax, "x", unit=unit), "")


def gaps(
    data: pd.DataFrame,
    title: str,
    label: str = "navn",
    value: str = "afvigelse_pct",
    better: str = "bedre",
    unit: str = "%",
    better_label: str = "Bedre end sammenligningen",
    worse_label: str = "Dårligere end sammenligningen",
):
    """Signed differences (e.g. % from the peer median) as bars around 0, coloured by better/worse.

    `better` is a boolean column (NA = no direction: grey). Each bar carries its value as a label.
    """
    data = data.dropna(subset=[value]).iloc[::-1]
    labels = [wrap(lab) for lab in data[label]]
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, _bar_height(labels, per_line=0.2, gap=0.14, extra=1.3)))
    flags = data[better].astype("boolean")
    colors = [PEER if pd.isna(b) else FOCUS if b else COMPARE for b in flags]
    ys = np.arange(len(data))
    values = data[value].astype(float).to_numpy()
    ax.barh(ys, values, color=colors)
    ax.set_yticks(ys, labels)
    ax.set_ylim(-0.6, len(data) - 0.4)
    ax.axvline(0, color="black", linewidth=0.8)
    span = float(np.nanmax(np.abs(values))) if len(values) else 1.0
    span = span or 1.0
    ax.set_xlim(min(values.min(initial=0.0), 0) - 0.3 * span, max(values.max(initial=0.0), 0) + 0.3 * span)
    decimals = 0 if span >= 20 else 1
    for yy, v in zip(ys, values):
        shown = round(float(v), decimals) + 0.0  # a value that rounds to 0 is "±0", not "−0"
        ax.text(v + (0.02 if v >= 0 else -0.02) * span, yy, formatting.signed(shown, unit, decimals), va="center",
                ha="left" if v >= 0 else "right", fontsize=8.5)
    handles = [Patch(color=FOCUS, label=better_label), Patch(color=COMPARE, label=worse_label)]
    fig.legend(handles=handles, loc="outside lower center", ncol=2)
    ax.grid(axis="y", visible=False)
    return _finish(fig, ax, title, danish_axis(ax, "x", unit=unit), "")


def expected(
    data: pd.DataFrame,
    title: str,
    unit: str,
    focus: str,
    label: str = "navn",
):
    """Actual against expected value: one dot per municipality with its 95 % prediction interval.

    `data` has columns forventet, faktisk, nedre, oevre and `label`; the row labelled `focus` is
    highlighted and named. A dot above the diagonal is higher than its structure predicts; a dot
    outside its interval is further away than 95 % of municipalities with that structure would be.
    """
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, 4.2))
    own = data[label] == focus
    for mask, color, width, size, name in ((~own, PEER, 1.0, 20, "Andre medlemmer"), (own, FOCUS, 2.2, 60, focus)):
        part = data[mask]
        ax.vlines(part["forventet"], part["nedre"], part["oevre"], color=color, linewidth=width, alpha=0.7)
        ax.scatter(part["forventet"], part["faktisk"], color=color, s=size, zorder=3, label=name)
    lo = float(min(data["forventet"].min(), data["faktisk"].min(), data["nedre"].min()))
    hi = float(max(data["forventet"].max(), data["faktisk"].max(), data["oevre"].max()))
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, linestyle=":", label="Faktisk = forventet")
    for _, row in data[own].iterrows():
        ax.annotate(focus, (row["forventet"], row["faktisk"]), xytext=(6, 6), textcoords="offset points",
                    color=FOCUS, fontweight="bold")
    ax.plot([], [], color=PEER, linewidth=1.0, label="95 %-interval for kommunens struktur")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    xlabel = danish_axis(ax, "x", unit=unit)
    ylabel = danish_axis(ax, "y", unit=unit)
    return _finish(fig, ax, title, f"Forventet ud fra strukturen ({xlabel})", f"Faktisk ({ylabel})")


def distribution(data: pd.DataFrame, title: str, unit: str, category: str = "kategori_navn", value: str = "vaerdi"):
    """Building values per category: a box per category with the buildings as dots."""
    order = sorted(data[category].dropna().unique())
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, max(2.4, 0.45 * len(order) + 1.0)))
    sns.boxplot(data=data, x=value, y=category, order=order, color="#dfe8f3", fliersize=0, ax=ax)
    rng_state = np.random.get_state()
    np.random.seed(0)  # seaborn's jitter draws from numpy's global generator: same figure every run
    try:
        sns.stripplot(data=data, x=value, y=category, order=order, color=FOCUS, size=3, alpha=0.6, jitter=0.25, ax=ax)
    finally:
        np.random.set_state(rng_state)
    return _finish(fig, ax, title, danish_axis(ax, "x", unit=unit), "")
