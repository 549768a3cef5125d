"""What the report notebooks share when they show things: Danish tables with units, standard blocks.

- `table(df, columns)`: a frame as a plain HTML table with Danish numbers and units, short headers,
  relative column widths and right-aligned numbers. Plain HTML on purpose: it looks the same in the
  HTML report (the house CSS styles it) and survives pandoc → Typst into the PDF (widths become
  Typst column widths, so long names wrap inside A4 instead of running off the page).
- `value_text(x, unit)`: a value with its unit and a sensible number of decimals.
- `about(mart, periode, ...)`: the "Om rapporten" block every report ends with (period,
  definitions version, data as of, package version, and the report's own settings).
- `findings_table`, `findings_summary`, `peer_sets_table`, `peer_set_text`: tables used by several reports.
- `anonymous_names(codes, periode)`: "Kommune A", "Kommune B", … for the theme day.
- Key-figure lists the reports show (`HEADLINE_FIGURES`, …): one place, so the workshop report and
  the chief report agree.

Nothing here computes key figures; the functions format frames that the library made.
"""

from __future__ import annotations

import hashlib
import html
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import noegletal
from noegletal import formatting

# The key figures of the headline tables (workshop report) and of the chief report, in reading order.
HEADLINE_FIGURES: tuple[str, ...] = (
    "areal_pr_indbygger", "areal_pr_bruger", "tomgangsandel_pct", "driftsudgift_pr_m2", "vedligehold_pr_m2",
    "akut_vedligehold_andel_pct", "energi_kwh_pr_m2", "vand_m3_pr_m2", "tilstandsgrad", "efterslaeb_kr_pr_m2",
)
CHIEF_FIGURES: tuple[str, ...] = (
    "areal_pr_indbygger", "areal_pr_bruger", "driftsudgift_pr_m2", "vedligehold_pr_m2", "energi_kwh_pr_m2",
    "tilstandsgrad",
)
# Own development over time (workshop report) and the theme day's cross-member trends.
TREND_FIGURES: tuple[str, ...] = ("driftsudgift_pr_m2", "energi_kwh_pr_m2", "areal_pr_bruger", "tilstandsgrad")
THEME_FIGURES: tuple[str, ...] = ("driftsudgift_pr_m2", "energi_kwh_pr_m2", "areal_pr_indbygger", "tilstandsgrad")

BENCHMARK_NAMES: dict[str, str] = {
    "peer_median": "medianen",
    "peer_value": "gruppens samlede tal",
    "best_quartile": "den bedste kvartil",
}
WINDOW_NAMES: dict[str, str] = {"kvartal": "kvartalet", "loebende_aar": "løbende år"}
SEVERITY_NAMES: dict[str, str] = {"fejl": "Fejl", "advarsel": "Advarsel"}


# -- numbers ----------------------------------------------------------------------------------------
def decimals_for(x) -> int:
    """Whole numbers from 100, one decimal from 1, two below (437 kr. · 19,4 m² · 0,38 m³)."""
    if formatting.is_missing(x) or abs(float(x)) >= 100:
        return 0
    return 1 if abs(float(x)) >= 1 else 2


def value_text(x, unit: str = "", decimals: int | None = None) -> str:
    """A value with its unit: '437 kr. pr. m²', '19,4 m² pr. bruger'; a grade as '2,9 (skala 1–5)'."""
    if not formatting.is_missing(x) and float(x) == 0:
        x = 0.0  # no "−0" for a value that is zero up to rounding in the sums
    d = decimals_for(x) if decimals is None else decimals
    if not formatting.is_missing(x) and abs(float(x)) < 0.5 * 10 ** -d:
        x, d = 0.0, 0
    shown = formatting.number(x, d)
    if shown == "–" or not unit:
        return shown
    if unit.startswith("grad "):  # "grad 1–5": a grade is read on its scale
        return f"{shown} (skala {unit[5:]})"
    return f"{shown} {unit}"


def signed_value(x, unit: str = "", decimals: int | None = None) -> str:
    """A change with its sign and unit: '+1,7 kr. pr. m²', '−0,4 m² pr. bruger', '±0 kr.'.

    A change of a share ('% af bruttoareal') is in percentage points: '+0,74 pct.-point'.
    """
    if formatting.is_missing(x):
        return "–"
    if unit.startswith("%"):
        unit = "pct.-point"
    d = decimals_for(x) if decimals is None else decimals
    sign = "±" if round(abs(float(x)), d) == 0 else "+" if x > 0 else "−"
    return sign + value_text(abs(x), unit, d)


def signed_percent(x, decimals: int = 1) -> str:
    """A change in per cent with its sign: '+1,2 %', '−0,4 %', '±0,0 %'; missing is '–'."""
    if formatting.is_missing(x):
        return "–"
    return formatting.signed(round(float(x), decimals) + 0.0, "%", decimals)


def change_text(pct, absolute, unit: str) -> str:
    """A change for a table of several key figures: in per cent, but for a share in percentage points
    ('+20,5 %' of 0,67 % would mislead; '+0,11 pct.-point' does not)."""
    return signed_value(absolute, unit) if unit.startswith("%") else signed_percent(pct)


def period_window(periode: str, vindue: str = "loebende_aar") -> str:
    """'løbende år til og med 2. kvartal 2026' or '2. kvartal 2026'."""
    if vindue == "loebende_aar":
        return f"løbende år til og med {formatting.period(periode)}"
    return formatting.period(periode)


def lower_first(text_: str) -> str:
    """'De 5 mest lignende kommuner' → 'de 5 mest lignende kommuner' (inside a sentence)."""
    return text_[:1].lower() + text_[1:]


def upper_first(text_: str) -> str:
    return text_[:1].upper() + text_[1:]


def genitive(name: str) -> str:
    """Danish genitive: 'Aarhus'' (a name ending in s, x or z takes an apostrophe), 'Odenses'."""
    return f"{name}'" if name[-1:].lower() in ("s", "x", "z") else f"{name}s"


def plural(n: int, singular: str, plural_: str) -> str:
    """'1 bygning', '2 bygninger' (the number in Danish format)."""
    return f"{formatting.number(n, 0)} {singular if n == 1 else plural_}"


def column_label(kolonne) -> str:
    """A submission column in words: 'varme_kwh' → 'Varmeforbrug'; several (comma-separated) joined with 'og'."""
    from noegletal import model

    if not isinstance(kolonne, str) or not kolonne:
        return "–"
    described = {c.id: c.description_da for c in (*model.BYGNINGER, *model.KVARTAL)}
    labels = []
    for col in (c.strip() for c in kolonne.split(",")):
        label = described.get(col, col).replace(" i kvartalet", "")
        depth = 0
        for i, ch in enumerate(label):  # cut at the first ", " outside parentheses
            depth += (ch == "(") - (ch == ")")
            if label.startswith(", ", i) and depth == 0:
                label = label[:i]
                break
        labels.append(label)
    return " og ".join(dict.fromkeys([labels[0], *(lower_first(x) for x in labels[1:])]))


# -- tables -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    """One table column: the frame's column, a short Danish header, how a value is shown, its width."""

    key: str
    header: str
    fmt: Callable[[Any], str] | None = None  # None: text as it is ('–' when missing)
    width: float = 1.0  # relative to the other columns
    align: str | None = None  # default: right for formatted values (numbers), left for text
    html: bool = False  # the (formatted) value is HTML made by this module, not text to escape


def num(unit: str = "", decimals: int | None = None) -> Callable[[Any], str]:
    """Formatter for a column of values in one unit."""
    return lambda x: value_text(x, unit, decimals)


def text(x) -> str:
    return "–" if x is None or (not isinstance(x, str) and pd.isna(x)) else str(x)


def table(df: pd.DataFrame, columns: Sequence[Col], note: str | None = None):
    """The frame as an HTML table (IPython display object) with the given columns, in the given order.

    Values in a column share one formatter; where the unit differs from row to row (a table of
    several key figures), make a text column with `value_text` first (see `overview_table`).
    """
    from IPython.display import HTML

    total = sum(c.width for c in columns)
    cols = "".join(f'<col style="width: {100 * c.width / total:.0f}%">' for c in columns)
    aligns = [c.align or ("right" if c.fmt is not None else "left") for c in columns]
    head = "".join(f'<th style="text-align: {a}">{html.escape(c.header)}</th>' for c, a in zip(columns, aligns))
    body = []
    for _, row in df.iterrows():
        cells = []
        for c, a in zip(columns, aligns):
            shown = (c.fmt or text)(row[c.key])
            cells.append(f'<td style="text-align: {a}">{shown if c.html else html.escape(shown)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    note_html = f'<p class="tabelnote"><em>{html.escape(note)}</em></p>' if note else ""
    return HTML(
        f'<table class="noegletal-tabel" style="width: 100%"><colgroup>{cols}</colgroup>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{note_html}"
    )


def markdown(md: str):
    """Text made from numbers (a sentence with the municipality's values) as a Markdown display object."""
    from IPython.display import Markdown

    return Markdown(md)


def bullet_list(items: Iterable[str]) -> str:
    """Markdown bullet list; each item on one line."""
    return "\n".join(f"- {item}" for item in items)


# -- standard blocks --------------------------------------------------------------------------------
def about(mart, periode: str, settings: Mapping[str, str] | None = None, vindue: str = "loebende_aar"):
    """The "Om rapporten" block: period, definitions version, data as of, package version, settings.

    `mart` is an open `api.Mart`; its `info` row says which data and definitions the key figures were
    computed from. `settings` adds lines such as the peer set and benchmark (label → text).
    """
    info = mart.info.iloc[0] if len(mart.info) else pd.Series(dtype=object)
    data_pr = _timestamp(info.get("data_pr"))
    computed_with = str(info.get("pakke_version") or "")
    version = noegletal.__version__
    lines = [
        f"**Periode:** {formatting.period(periode)} ({periode}); nøgletallene gælder for {period_window(periode, vindue)}, "
        "hvis intet andet er nævnt",
        f"**Definitionsark:** version {info.get('definitioner_version', mart.defs.version)}",
        f"**Data pr.:** {_datetime_text(data_pr)} (seneste indlæsning, som nøgletallene er beregnet på)",
        f"**Pakkeversion:** noegletal {version}"
        + (f" (nøgletallene er beregnet med {computed_with})" if computed_with and computed_with != version else ""),
    ]
    lines += [f"**{label}:** {value}" for label, value in (settings or {}).items()]
    newest = _timestamp(mart.store.data_as_of())
    if data_pr is not None and newest is not None and newest > data_pr:
        lines.append(f"**Bemærk:** der er indlæst data efter beregningen (senest {_datetime_text(newest)}); "
                     "kør 'noegletal compute' for at få dem med")
    return markdown(
        "## Om rapporten\n\n"
        + bullet_list(lines)
        + "\n\nNøgletallene er beregnet som summen af tællere over summen af nævnere for de bygninger, der har "
        "indberettet begge dele (aldrig et gennemsnit af bygningernes nøgletal). Bygninger med en blokerende "
        "datafejl er udeladt af gruppetallene. Definitionerne står i definitionsarket."
    )


def _timestamp(value) -> pd.Timestamp | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value)


def _datetime_text(value: pd.Timestamp | None) -> str:
    return "–" if value is None else formatting.datetime(value.to_pydatetime())


def peer_set_text(peer_set, benchmark: str = "peer_median") -> str:
    """'medianen for de 5 mest lignende kommuner' (the benchmark and the peer set in words)."""
    return f"{BENCHMARK_NAMES.get(benchmark, benchmark)} for {lower_first(peer_set.navn_da)}"


def peer_set_members(peer_set, names: Mapping[int, str]) -> str:
    """'Aalborg, Gentofte, Kolding' (alphabetical), or 'ingen andre medlemmer'."""
    members = sorted((names.get(int(k), str(k)) for k in peer_set.kommunekoder), key=str.casefold)
    return ", ".join(members) or "ingen andre medlemmer"


def peer_settings(peer_set, benchmark: str = "peer_median") -> dict[str, str]:
    """The comparison settings for the "Om rapporten" block of a municipality's report."""
    return {
        "Sammenligningsgruppe": f"{peer_set.navn_da} ({plural(len(peer_set), 'kommune', 'kommuner')})",
        "Sammenligningstal": BENCHMARK_NAMES.get(benchmark, benchmark),
    }


def gaps_figure(overview: pd.DataFrame, peer_set, benchmark: str = "peer_median"):
    """The headline figures of `benchmark.overview` as % above or below the peer set's benchmark."""
    from noegletal import plots

    return plots.gaps(overview.rename(columns={"navn_da": "navn"}), f"Forskel til {peer_set_text(peer_set, benchmark)}",
                      unit="%")


def peer_sets_table(peer_sets, names: Mapping[int, str]):
    """The municipality's peer sets, each named with its members (no building data)."""
    rows = []
    for ps in peer_sets:
        members = sorted((names.get(int(k), str(k)) for k in ps.kommunekoder), key=str.casefold)
        shown = (f"Alle øvrige medlemmer ({len(members)})" if ps.id == "alle"
                 else ", ".join(members) if members else "Ingen andre medlemmer i gruppen")
        rows.append({"navn": ps.navn_da, "antal": len(members), "kommuner": shown})
    return table(pd.DataFrame(rows), [
        Col("navn", "Sammenligningsgruppe", width=2.2),
        Col("antal", "Antal", num("", 0), width=0.8),
        Col("kommuner", "Kommuner", width=3.5),
    ])


BENCHMARK_HEADERS: dict[str, str] = {
    "peer_median": "Median i gruppen",
    "peer_value": "Gruppens tal",
    "best_quartile": "Bedste kvartil",
}


def rank_text(placering, ud_af) -> str:
    """'2 af 6'; '–' without a rank (a key figure without direction)."""
    return "–" if placering is None or pd.isna(placering) else f"{int(placering)} af {int(ud_af)}"


def overview_table(ov: pd.DataFrame, benchmark: str = "peer_median", short: bool = False):
    """The headline table of `benchmark.overview`: value, changes, the peer set's benchmark and the rank.

    `short` (the chief report) leaves out the change against the previous quarter.
    """
    rows = ov.assign(
        vaerdi_tekst=[value_text(v, u) for v, u in zip(ov["egen"], ov["enhed_da"])],
        benchmark_tekst=[value_text(v, u) for v, u in zip(ov["benchmark"], ov["enhed_da"])],
        kvartal_tekst=[change_text(p, a, u)
                       for p, a, u in zip(ov["aendring_kvartal_pct"], ov["aendring_kvartal"], ov["enhed_da"])],
        aar_tekst=[change_text(p, a, u) for p, a, u in zip(ov["aendring_aar_pct"], ov["aendring_aar"], ov["enhed_da"])],
        placering_tekst=[rank_text(p, n) for p, n in zip(ov["placering"], ov["ud_af"])],
    )
    cols = [Col("navn_da", "Nøgletal", width=2.4), Col("vaerdi_tekst", "Værdi", width=1.8, align="right")]
    if not short:
        cols.append(Col("kvartal_tekst", "Ændring, kvartal", width=1.15, align="right"))
    cols += [
        Col("aar_tekst", "Ændring, år", width=1.15, align="right"),
        Col("benchmark_tekst", BENCHMARK_HEADERS.get(benchmark, "Sammenligning"), width=1.8, align="right"),
        Col("placering_tekst", "Placering", width=1.0, align="right"),
    ]
    return table(rows, cols, note="Ændringer i procent af værdien et kvartal og et år før (andele i procentpoint). "
                                  "Placering: 1 er bedst blandt kommunen og dens sammenligningsgruppe.")


def finding_subject(row, defs) -> str:
    """What a finding is about: the key figure's Danish name, else the submitted column."""
    k = row.get("noegletal")
    if isinstance(k, str) and k in defs.ids():
        return defs[k].navn_da
    return column_label(row.get("kolonne"))


def finding_value(row, defs) -> str:
    """A finding's value with its unit (the key figure's unit, else the column's)."""
    from noegletal import quality

    k, kolonne = row.get("noegletal"), row.get("kolonne")
    if isinstance(k, str) and k in defs.ids():
        unit = defs[k].enhed_da
    elif isinstance(kolonne, str) and kolonne.endswith("_kr"):
        unit = "kr."
    else:
        unit = quality.UNITS_DA.get(kolonne, "") if isinstance(kolonne, str) else ""
    return value_text(row.get("vaerdi"), unit)


def finding_html(row) -> str:
    """A finding as one table cell: severity and rule in bold, then the explanation."""
    severity = SEVERITY_NAMES.get(row["alvor"], str(row["alvor"]))
    title = html.escape(f"{severity}: {row['regel_titel']}.")
    return f"<strong>{title}</strong> {html.escape(text(row['forklaring']))}"


def findings_table(fund: pd.DataFrame, defs, with_municipality: bool = False, empty: str = "Ingen fund."):
    """Data-quality findings: (municipality,) building, what, value, and the rule with its explanation."""
    if fund.empty:
        return markdown(f"*{empty}*")
    rows = fund.assign(
        hvad=[finding_subject(r, defs) for _, r in fund.iterrows()],
        vaerdi_tekst=[finding_value(r, defs) for _, r in fund.iterrows()],
        fund_html=[finding_html(r) for _, r in fund.iterrows()],
    )
    cols = [Col("kommune", "Kommune", width=1.2)] if with_municipality else []
    cols += [
        Col("navn", "Bygning", width=1.9),
        Col("hvad", "Hvad", width=1.5),
        Col("vaerdi_tekst", "Værdi", width=1.2, align="right"),
        Col("fund_html", "Fund", width=4.4, html=True),
    ]
    return table(rows, cols)


def excluded_table(excluded: pd.DataFrame, with_municipality: bool = False, empty: str = "Ingen bygninger er udeladt."):
    """Buildings left out of the group figures (`Mart.excluded`), with the blocking finding in words."""
    if excluded.empty:
        return markdown(f"*{empty}*")
    reasons = [
        f"{r['regel_titel']}, {formatting.period(r['fund_periode'])} ({lower_first(column_label(r['kolonne']))})"
        if isinstance(r.get("regel_titel"), str) else text(r["udeladt_aarsag"])
        for _, r in excluded.iterrows()
    ]
    cols = [Col("kommune", "Kommune", width=1.3)] if with_municipality else []
    cols += [Col("navn", "Bygning", width=2.6), Col("aarsag", "Årsag", width=3.2)]
    return table(excluded.assign(aarsag=reasons), cols)


def findings_summary(fund: pd.DataFrame, by: str) -> pd.DataFrame:
    """Number of findings per `by` (e.g. regel_titel or kommune), with columns fejl, advarsel, i_alt."""
    counts = pd.crosstab(fund[by], fund["alvor"]) if len(fund) else pd.DataFrame()
    counts = counts.reindex(columns=["fejl", "advarsel"], fill_value=0)
    counts["i_alt"] = counts.sum(axis=1)
    return counts.sort_values(["fejl", "i_alt"], ascending=False).rename_axis(by).reset_index()


# -- anonymisation ----------------------------------------------------------------------------------
def _letters(i: int) -> str:
    """0 → A, 25 → Z, 26 → AA (as spreadsheet columns)."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = string.ascii_uppercase[r] + out
    return out


def anonymous_names(codes: Iterable[int], periode: str) -> dict[int, str]:
    """'Kommune A', 'Kommune B', … for the municipalities of a round.

    The letters follow a shuffle seeded by the period: the same round always gives the same names
    (stable within and between runs), but the letters do not follow the municipality codes, so
    "Kommune A" is not simply the lowest code, and the names change from round to round.
    """
    ordered = sorted({int(c) for c in codes})
    seed = int.from_bytes(hashlib.sha256(f"noegletal-anonym-{periode}".encode()).digest()[:8], "big")
    order = np.random.default_rng(seed).permutation(len(ordered))
    return {ordered[j]: f"Kommune {_letters(i)}" for i, j in enumerate(order)}
