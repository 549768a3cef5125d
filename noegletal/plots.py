"""The house style for report figures (one place): seaborn, readable at A4, colour-blind safe.

Every figure: a title that says what is shown, axis labels with units, Danish number format, the
municipality in focus in one strong colour and its peers in grey. Functions return the matplotlib
Figure so notebooks can display it; they never compute key figures (that is the mart's job).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display in batch runs; notebooks show figures through their PNG output

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from noegletal import formatting  # noqa: E402

# seaborn's colour-blind palette: focus = blue, comparison = orange, then grey for peers
PALETTE = sns.color_palette("colorblind")
FOCUS = PALETTE[0]
COMPARE = PALETTE[1]
ACCENT = PALETTE[2]
PEER = "#b0b0b0"
A4_WIDTH_IN = 6.3  # 16 cm text width on A4 with 2.5 cm margins


def setup() -> None:
    """Apply the house style; call once at the top of a notebook (the runner's kernels reuse it)."""
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


def danish_axis(ax, axis: str = "y", decimals: int = 0) -> None:
    """Tick labels in Danish number format (1.234,5)."""
    fmt = mticker.FuncFormatter(lambda v, _pos: formatting.number(v, decimals))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _finish(fig, ax, title: str, xlabel: str, ylabel: str):
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    plt.close(fig)  # the notebook displays the returned figure; keep pyplot's state empty
    return fig


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
):
    """Own development over time, optionally with a comparison line (e.g. peer value) and a band (p10–p90)."""
    fig, ax = plt.subplots()
    xs = list(range(len(data)))
    if band is not None:
        ax.fill_between(xs, data[band[0]], data[band[1]], color=PEER, alpha=0.35, linewidth=0, label="Bygninger p10–p90")
    if compare is not None:
        ax.plot(xs, data[compare], color=COMPARE, marker="s", linestyle="--", label=compare_label)
    ax.plot(xs, data[focus], color=FOCUS, marker="o", linewidth=2.2, label=focus_label)
    ax.set_xticks(xs, [formatting.period(p).replace(". kvartal ", ". kv. ") for p in data[x]], rotation=30, ha="right")
    danish_axis(ax, "y", decimals=_decimals(data[focus]))
    ax.legend(loc="best")
    return _finish(fig, ax, title, "", unit)


def ranking(
    data: pd.DataFrame,
    title: str,
    unit: str,
    label: str = "navn",
    value: str = "vaerdi",
    focus: str | None = None,
    reference: float | None = None,
    reference_label: str = "Sammenligningsgruppe",
):
    """Horizontal bars sorted by value; the row whose label equals `focus` is highlighted."""
    data = data.sort_values(value, ascending=True)
    height = max(2.4, 0.24 * len(data) + 1.0)
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, height))
    colors = [FOCUS if lab == focus else PEER for lab in data[label]]
    ax.barh(data[label].astype(str), data[value], color=colors)
    if reference is not None:
        ax.axvline(reference, color=COMPARE, linestyle="--", linewidth=1.5, label=reference_label)
        ax.legend(loc="lower right")
    danish_axis(ax, "x", decimals=_decimals(data[value]))
    ax.grid(axis="y", visible=False)
    return _finish(fig, ax, title, unit, "")


def decomposition(data: pd.DataFrame, title: str, unit: str, label: str = "navn", value: str = "bidrag"):
    """A gap split into parts: positive parts (above the comparison) in orange, negative in blue."""
    data = data.iloc[::-1]
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, max(2.2, 0.34 * len(data) + 1.0)))
    colors = [COMPARE if v > 0 else FOCUS for v in data[value]]
    ax.barh(data[label].astype(str), data[value], color=colors)
    ax.axvline(0, color="black", linewidth=0.8)
    danish_axis(ax, "x", decimals=_decimals(data[value]))
    ax.grid(axis="y", visible=False)
    return _finish(fig, ax, title, unit, "")


def distribution(data: pd.DataFrame, title: str, unit: str, category: str = "kategori_navn", value: str = "vaerdi"):
    """Building values per category: a box per category with the buildings as dots."""
    order = sorted(data[category].dropna().unique())
    fig, ax = plt.subplots(figsize=(A4_WIDTH_IN, max(2.4, 0.45 * len(order) + 1.0)))
    sns.boxplot(data=data, x=value, y=category, order=order, color="#dfe8f3", fliersize=0, ax=ax)
    sns.stripplot(data=data, x=value, y=category, order=order, color=FOCUS, size=3, alpha=0.6, jitter=0.25, ax=ax)
    danish_axis(ax, "x", decimals=_decimals(data[value]))
    return _finish(fig, ax, title, unit, "")


def _decimals(values: pd.Series) -> int:
    """Whole numbers for large values, one decimal for small ones (e.g. grades, m³ per m²)."""
    top = pd.to_numeric(values, errors="coerce").abs().max()
    if pd.isna(top) or top >= 100:
        return 0
    return 1 if top >= 1 else 2
