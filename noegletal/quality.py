"""Data-quality checks ("fejlstøvsugning"): findings on the building data, as first-class output.

`find(store, facts, defs)` runs every rule on the windowed building facts (the `bygningsfakta`
frame, both windows) before group figures are built. `compute` stores the result as the table
`fund`; the key-figure engine leaves a building out of the group figures of every window that
includes a quarter with a finding of severity `fejl`. `advarsel` is shown for review only.
`print_findings` prints the stored table for `noegletal quality [PERIODE]`.

Rules (id, severity, what triggers it; the Danish explanation templates are in `RULES`). "Quarter"
rules look at the submitted values of window `kvartal`; the range and outlier rules at the building
key figures (taeller / naevner, evaluated from the definitions sheet on the facts' own arrays, with
the same arithmetic as its SQL: `Expression.evaluate`).

| id                  | alvor    | trigger |
|---------------------|----------|---------|
| inkonsistent_areal  | fejl     | tomt_areal_m2 > bruttoareal_m2 (ingest blocks it; older data may have it) |
| udgift_uden_areal   | fejl     | costs reported, but bruttoareal_m2 missing or 0 |
| enhed_1000          | fejl     | varme_kwh, el_kwh or vand_m3 per m² (annualised) is 1/200–1/5000, or 200–5000 times, the building's own level (median of its previous four quarters) or the category's median in the quarter: kWh/MWh, Wh/kWh or m³/litre slips. A value within a factor 20 of the category median is never a slip (so the quarter after a slipped first quarter is not one) |
| nul_el              | fejl     | el_kwh exactly 0 in a building ≥ 500 m² in use (under half vacant, brugere not 0) |
| interval_groft      | fejl     | an energy or water key figure of the quarter, annualised, more than 5 times outside the category's plausible range |
| nul_varme           | advarsel | varme_kwh exactly 0 in a building ≥ 500 m² in use, outside summer (Q3 has 131 of 3112 normal degree days); heat pumps and heat included in rent exist, so it does not block |
| spring              | advarsel | a regular flow (heat, electricity, water, cleaning, utilities, technical operation, administration, rent) or a stock (m², users) is more than 3 times above, or below 1/3 of, every one of the building's values in the previous four quarters |
| manglende_kvartal   | advarsel | the building is in the quarter's bygninger without values in kvartal (no row, or every value empty), or has values in the quarters before and after but is missing from the municipality's submission for the quarter |
| kategori_skift      | advarsel | the building's category differs from its previous quarter |
| brugere_nul         | advarsel | brugere reported as 0 while the building has costs (skews the per-user figures) |
| interval_aar        | advarsel | a building value of the rolling year outside the category's plausible range |
| interval_kvartal    | advarsel | a building value of the quarter outside the category's plausible range: stock figures always; energy and water (annualised, with 25 % slack) only while the building has no rolling year yet |
| afvigende           | advarsel | robust outlier over the rolling year: abs(ln value − ln median) > 5 × 1,4826 × MAD (of the ln values) and at least a factor 2 from the median, among all buildings of the category (and ownership) in the quarter, at least 10 of them |

Decisions and why:
- `fejl` is reserved for rules that name a mechanism that cannot be real (a unit slip, vacant >
  gross, costs without area, no electricity in a large building in use, energy far outside
  physics). A statistical outlier can be real (a swimming pool among sports halls), so `afvigende`
  never blocks, and neither do the plain range rules (the ranges say "worth a question").
- Ranges in the definitions sheet are annual. In window `loebende_aar` they apply as they are. In
  window `kvartal` only figures whose flows are measured energy or water are checked (costs are
  lumpy: a roof repaired in one quarter is real; degree-day corrected heat is made for whole
  heating seasons and explodes in a summer quarter with few actual degree days). A quarter is annualised by its share of a normal year:
  heat by `w/4 + (1 − w) · GD_normal,quarter / GD_normal,year` (the weather-independent share w spread
  evenly over the year, the rest following the normal year's degree days, so a mild quarter
  gives a mild year, as a measured year would), electricity and water × 4. On the demo this is
  within ±12 % of the building's actual rolling year (1st–99th percentile), hence the 25 % slack;
  the calibrated annual check takes over as soon as the building has a rolling year. Stock
  figures (m² per user, vacancy, grades) are checked in window `kvartal` only: the rolling year
  merely averages them. A quarter with a zero in a flow of the figure is left to the nul_* rules.
- Outliers are judged on the log scale (the key figures are ratios that spread multiplicatively),
  on the rolling year only (no seasons, the calibrated comparison), for intensity figures only
  (a flow per m² or per user: shares, grades and backlog are bounded or legitimately near zero),
  and separately for rented and owned buildings (rent and the landlord's maintenance make them
  two populations). The extra "factor 2" keeps tight groups, whose MAD is tiny, from flagging
  ordinary differences.
- Jumps and unit slips compare annualised intensities per m², heat scaled by the quarter's actual
  degree days, so seasons and weather do not count as jumps. A jump must hold against every value
  of the previous four quarters (not only the last one), so a single bad quarter gives one finding,
  not a second one when the value returns to normal; flows are first divided by the category's
  median in the same quarter, which removes seasons, price changes and weather shared by all.
  Maintenance is not checked for jumps (it is lumpy by nature). A unit slip is no reference level.
- One cause, one finding: in the same building and quarter, a finding is dropped when a finding of
  higher priority (fejl before advarsel, then the order of `RULES`, then fewer columns, then the
  definitions sheet's order) concerns one of the same submitted columns; a rolling-year finding is
  dropped when a quarter finding on the same column exists in one of the window's four quarters
  (the quarter finding names the cause). Derived columns are named by their source
  (varme_normaliseret_kwh → varme_kwh).
- Speed (national scale: 1,9 million building quarters, 3,7 million fact rows): the quarter rules run
  in numpy on the kvartal rows sorted by building and quarter, as `keyfigures.building_facts` delivers
  them (checked; other frames are sorted first), so a building's previous quarters are among the four
  rows before it; the slip and jump rules judge only the values that are not plainly normal (far
  from the category median, or far from the previous quarter) against the building's own history.
  The key-figure rules read only the columns they need from the facts (no copy of the numbers), with
  the text keys as integers, one figure at a time (in numpy: the same rules in DuckDB took 0.4 s
  longer nationally, and np.isin over the rolling years 1.2 s more than a binary search).
- `vaerdi` is what the rule judged: the submitted value for quarter rules, the building key figure
  (annualised in window kvartal) for range and outlier rules. `noegletal` is set for key-figure
  rules (and for brugere_nul: driftsudgift_pr_bruger), else NULL.

Measured on the default demo (30 municipalities, 8 quarters, 153.000 building-quarters): all six
planted errors that pass ingest are found by the intended rule (the seventh, vacant > gross, is
rejected by ingest and found in `demo.malformed_example()`); 210 findings in all, 2 fejl (both
planted) and 208 warnings that are not planted, mostly `interval_aar` on demo buildings outside the
sheet's ranges. See tests/test_quality.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from noegletal import formatting, keyfigures, model
from noegletal.definitions import Definitions, KeyFigure

FINDING_COLUMNS: list[str] = [
    "periode", "kommunekode", "bygning_id", "navn", "kategori", "kolonne", "vaerdi", "regel", "alvor",
    "forklaring", "noegletal",
]
SEVERITIES: tuple[str, ...] = ("fejl", "advarsel")


@dataclass(frozen=True)
class Rule:
    alvor: str  # "fejl" blocks the building from group figures, "advarsel" is for review
    titel: str  # short Danish title for tables
    tekst: str  # Danish explanation template (str.format fields named in each check)


RULES: dict[str, Rule] = {
    "inkonsistent_areal": Rule(
        "fejl", "Tomt areal større end bruttoareal",
        "Tomt areal ({tomt}) er større end bruttoarealet ({brutto}). Det kan ikke passe: ret et af de to arealer.",
    ),
    "udgift_uden_areal": Rule(
        "fejl", "Udgifter uden areal",
        "Der er indberettet udgifter ({udgift}), men intet bruttoareal. Uden areal kan udgiften ikke "
        "regnes pr. m²: indberet bygningens bruttoareal.",
    ),
    "enhed_1000": Rule(
        "fejl", "Forkert enhed (faktor 1.000)",
        "{kolonne} er {vaerdi} i kvartalet, cirka {faktor} {retning} end {reference} ({forventet} i et "
        "kvartal som dette). Er tallet indberettet i {forkert} i stedet for {enhed}?",
    ),
    "nul_el": Rule(
        "fejl", "Elforbrug 0",
        "Elforbruget er indberettet som 0 kWh for en bygning på {areal} i brug. En bygning i brug bruger "
        "altid strøm. Et tomt felt betyder 'ikke indberettet', 0 betyder 'intet forbrug': indberet det "
        "faktiske forbrug, eller lad feltet stå tomt.",
    ),
    "interval_groft": Rule(
        "fejl", "Langt uden for det plausible",
        "{noegletal} er {vaerdi} omregnet til helår ud fra kvartalet. For {kategori} er {min}–{max} "
        "plausibelt, og værdien ligger mere end 5 gange uden for. Tjek forbrug, enhed og areal.",
    ),
    "nul_varme": Rule(
        "advarsel", "Varmeforbrug 0",
        "Varmeforbruget er indberettet som 0 kWh i {periode} for en bygning på {areal} i brug. Er "
        "bygningen opvarmet på anden måde (fx varmepumpe på el)? Ellers: indberet forbruget, eller lad "
        "feltet stå tomt, hvis det ikke kendes.",
    ),
    "spring": Rule(
        "advarsel", "Spring fra kvartal til kvartal",
        "{kolonne} er {vaerdi} i kvartalet: {faktor} gange {retning} end bygningens niveau i de fire "
        "foregående kvartaler (nærmest: {reference}){saeson}. Er det en fejl eller en reel ændring?",
    ),
    "manglende_kvartal": Rule(
        "advarsel", "Manglende kvartal",
        "Bygningen {hvad}. Er kvartalets tal glemt?",
    ),
    "kategori_skift": Rule(
        "advarsel", "Skift af kategori",
        "Bygningen skifter kategori fra {fra} til {til} (anvendelseskode {kode_fra} → {kode_til}). Er "
        "brugen reelt ændret? Sammenligningen med tidligere kvartaler er så ikke lige.",
    ),
    "brugere_nul": Rule(
        "advarsel", "0 brugere, men udgifter",
        "Brugere er indberettet som 0, men bygningen har udgifter ({udgift} i kvartalet). Det giver et "
        "skævt nøgletal pr. bruger: lad feltet stå tomt, hvis bygningen ikke har faste brugere.",
    ),
    "interval_aar": Rule(
        "advarsel", "Uden for plausibelt interval (løbende år)",
        "{noegletal} er {vaerdi} for det løbende år til og med {periode}. For {kategori} forventes "
        "{min}–{max}.",
    ),
    "interval_kvartal": Rule(
        "advarsel", "Uden for plausibelt interval (kvartal)",
        "{noegletal} er {vaerdi}{omregnet}. For {kategori} forventes {min}–{max}.",
    ),
    "afvigende": Rule(
        "advarsel", "Afviger meget fra kategorien",
        "{noegletal} er {vaerdi} ({vindue}): {faktor} gange {retning} end medianen for {kategori} i alle "
        "kommuner ({median}). Så stor en afstand ses sjældent: tjek tallet.",
    ),
}

# Thresholds (see the module docstring).
UNIT_BAND = (200.0, 5000.0)  # a factor-1000 slip shows as a ratio between these
CATEGORY_NORMAL_FACTOR = 20.0  # within this factor of the category median a value is no unit slip
JUMP_FACTOR = 3.0
JUMP_LAGS = 4
GROSS_FACTOR = 5.0
QUARTER_SLACK = 1.25  # an annualised quarter is only accurate to about ±12 % (1st–99th percentile)
OUTLIER_Z = 5.0
OUTLIER_MIN_GROUP = 10
OUTLIER_MIN_FACTOR = 2.0  # and at least twice (or half) the median: tight groups have tiny MADs
ZERO_MIN_AREA_M2 = 500.0
ZERO_HEAT_MIN_NORMAL_GD = 300.0  # normal-year degree days of the quarter; Q3 has 131

# Flows whose quarter value says something about the year: no lumpy costs, and no degree-day
# corrected heat (the correction is made for heating seasons; a summer quarter with few actual
# degree days can multiply the heat several times: 3.565 false alarms in 2016Q3 of the national demo).
QUARTER_SAFE_FLOWS = frozenset({"varme_kwh", "el_kwh", "vand_m3"})
UNIT_COLUMNS = {"varme_kwh": ("kWh", "MWh", "Wh"), "el_kwh": ("kWh", "MWh", "Wh"), "vand_m3": ("m³", "1.000 m³", "liter")}
JUMP_FLOWS = ("varme_kwh", "el_kwh", "vand_m3", "rengoering_kr", "forsyning_kr", "teknisk_drift_kr",
              "administration_kr", "husleje_kr")
JUMP_STOCKS = ("bruttoareal_m2", "brugere")
# Derived fact columns and the submitted column they come from (findings name submitted columns).
SOURCE_COLUMN = {"varme_normaliseret_kwh": "varme_kwh", "lejet_areal_m2": "bruttoareal_m2"}
COLUMN_NAMES_DA = {
    "varme_kwh": "Varmeforbruget", "el_kwh": "Elforbruget", "vand_m3": "Vandforbruget",
    "rengoering_kr": "Rengøringsudgiften", "forsyning_kr": "Forsyningsudgiften",
    "teknisk_drift_kr": "Udgiften til teknisk drift", "administration_kr": "Udgiften til administration",
    "husleje_kr": "Huslejen", "bruttoareal_m2": "Bruttoarealet", "brugere": "Antallet af brugere",
}
UNITS_DA = {"varme_kwh": "kWh", "el_kwh": "kWh", "vand_m3": "m³", "bruttoareal_m2": "m²", "brugere": "brugere"}

# The columns of `bygningsfakta` that are read.
TEXT_COLUMNS = ("kommunekode", "bygning_id", "navn", "kategori", "periode", "vindue")
NUMERIC = (
    "bruttoareal_m2", "tomt_areal_m2", "brugere", "varme_kwh", "el_kwh", "vand_m3", *model.COST_COLUMNS,
    "tilstandsgrad", "indeklima", "efterslaeb_kr", "lejet_areal_m2", "varme_normaliseret_kwh",
)
FLOW_COLUMNS = ("varme_kwh", "varme_normaliseret_kwh", "el_kwh", "vand_m3", *model.COST_COLUMNS)
# The submitted values the quarter rules read.
QUARTER_NUMERIC = ("bruttoareal_m2", "tomt_areal_m2", "brugere", "varme_kwh", "el_kwh", "vand_m3",
                   *model.COST_COLUMNS)


# --------------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------------


def find(store, facts: pd.DataFrame, defs: Definitions) -> pd.DataFrame:
    """All findings for the building facts of both windows (columns `FINDING_COLUMNS`).

    The quarter rules run on numpy arrays with integer keys, the range and outlier rules in numpy per
    key figure; text is only made for the findings (national scale: 3,7 million fact rows). Two
    workers share the work (numpy releases the GIL): the quarter rules, and the key figures' checks
    one figure at a time, each taken by whichever worker is free first.
    """
    normal = store.degree_days_normal()
    gd_year = float(normal.sum())
    keys = _keys(facts)
    kv = _quarter_rows(facts, keys, defs, normal)
    parts = [_missing_quarters(store, facts, kv)]
    with ThreadPoolExecutor(max_workers=keyfigures.GROUP_THREADS) as pool:
        quarters = pool.submit(_quarter_rules, kv, facts, defs, gd_year)
        checks = [*_range_checks(facts, keys, kv, defs, gd_year), *_outlier_checks(facts, keys, defs)]
        figures = [pool.submit(check) for check in checks]
        parts += [*quarters.result(), *(f.result() for f in figures)]
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_findings()
    return _finish(_with_names(_one_finding_per_cause(pd.concat(parts, ignore_index=True), defs), facts))


def empty_findings() -> pd.DataFrame:
    return _finish(pd.DataFrame({c: [] for c in [*FINDING_COLUMNS, "_t"]}))


def print_findings(store, periode: str | None, console: Console, err_console: Console) -> int:
    """`noegletal quality [PERIODE]`: the stored findings as tables, fejl first. Returns the exit code."""
    if periode is not None:
        try:
            model.parse_period(periode)
        except ValueError as e:
            err_console.print(f"[bold red]Fejl:[/bold red] {e}")
            return 1
    if not store.has_table("fund"):
        err_console.print("[bold red]Fejl:[/bold red] Der er ingen datakvalitetsfund i databasen. "
                          "Kør først 'noegletal compute'.")
        return 1
    known = sorted(store.submissions()["periode"].astype(str).unique())
    if periode is not None and periode not in known:
        span = f"{known[0]}–{known[-1]}" if known else "ingen"
        err_console.print(f"[bold red]Fejl:[/bold red] Kvartalet {periode} findes ikke i databasen "
                          f"(indberettede kvartaler: {span}).")
        return 1
    where, params = ("WHERE periode = ?", [periode]) if periode else ("", [])
    fund = store.query(f"SELECT * FROM fund {where} ORDER BY periode, kommunekode, bygning_id", params)
    scope = formatting.period(periode) if periode else "alle kvartaler"
    if fund.empty:
        console.print(f"Ingen datakvalitetsfund for {scope}.")
        return 0
    names = store.municipalities().set_index("kommunekode")["navn"]
    fund["kommune"] = fund["kommunekode"].map(lambda k: f"{names.get(int(k), '?')} ({int(k)})")
    for alvor, title in (("fejl", "Fejl – bygningen udelades af gruppetal"), ("advarsel", "Advarsler – til gennemsyn")):
        rows = fund[fund["alvor"] == alvor]
        if rows.empty:
            continue
        table = Table(title=f"{title}: {len(rows)} fund ({scope})", show_lines=True, title_justify="left",
                      expand=True)
        if periode is None:
            table.add_column("Kvartal", no_wrap=True)
        for col, kw in (("Kommune", {"ratio": 1}), ("Bygning", {"ratio": 2}), ("Kolonne", {"ratio": 1}),
                        ("Værdi", {"justify": "right", "no_wrap": True}), ("Regel", {"ratio": 1}),
                        ("Forklaring", {"ratio": 5})):
            table.add_column(col, overflow="fold", **kw)  # fold long ids rather than cut them off
        for r in rows.itertuples(index=False):
            cells = [r.kommune, f"{r.navn} ({r.bygning_id})", r.kolonne if isinstance(r.kolonne, str) else "–",
                     _da(r.vaerdi), r.regel, r.forklaring]
            table.add_row(*([r.periode] if periode is None else []), *cells)
        console.print(table)
    counts = fund.groupby(["alvor", "regel"]).size()
    summary = ", ".join(f"{r} ({RULES[r].titel if r in RULES else r}): {n}" for (_, r), n in counts.items())
    console.print(f"I alt {len(fund)} fund ({(fund['alvor'] == 'fejl').sum()} fejl). {summary}.")
    return 0


# --------------------------------------------------------------------------------------------------
# Preparation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """Integer keys of every facts row."""
    b: np.ndarray  # building number; orders like (kommunekode, bygning_id)
    t: np.ndarray  # quarter index: consecutive quarters are consecutive integers
    kat: np.ndarray  # position of kategori in model.CATEGORIES, -1 if unknown


def _keys(facts: pd.DataFrame) -> Keys:
    missing = [c for c in TEXT_COLUMNS if c not in facts]
    if missing:
        raise ValueError(f"bygningsfakta mangler kolonnerne {', '.join(missing)}")
    category = lambda c: model.CATEGORIES.index(c) if c in model.CATEGORIES else -1  # noqa: E731
    return Keys(b=_building_numbers(facts), t=keyfigures.per_value(facts["periode"], keyfigures.quarter_index),
                kat=keyfigures.per_value(facts["kategori"], category))


def _building_numbers(facts: pd.DataFrame) -> np.ndarray:
    """kommunekode and bygning_id as one integer that sorts like the pair (bygning_id by its text)."""
    positions, uniques = keyfigures.distinct(facts["bygning_id"])
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[:-1] = 1 + keyfigures.text_ranks(uniques)  # text order, from 1
    rank[-1] = 0  # a missing bygning_id (position -1) first
    return facts["kommunekode"].to_numpy(dtype=np.int64) * (len(uniques) + 1) + rank[positions]


def _indexer(rows: np.ndarray):
    """`rows` as a slice when they are consecutive positions: then columns are views, not copies."""
    if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and np.all(np.diff(rows) == 1):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


def _column(facts: pd.DataFrame, column: str, ix) -> np.ndarray:
    """A numeric facts column at positions `ix` as float64 with NaN for missing (all NaN if absent)."""
    if column not in facts:
        return np.full(len(facts), np.nan)[ix]
    values = facts[column]
    if values.dtype == np.float64:
        return values.to_numpy()[ix]  # no copy for a slice
    return values.iloc[ix].to_numpy(dtype=np.float64, na_value=np.nan)


def _quarter_positions(facts: pd.DataFrame, keys: Keys) -> np.ndarray:
    """Positions of the kvartal rows, sorted by building and quarter.

    keyfigures.building_facts delivers them so (checked here, cheaply); other frames are sorted.
    """
    rows = np.flatnonzero((facts["vindue"] == "kvartal").to_numpy())
    b, t = keys.b[rows], keys.t[rows]
    if not np.all((b[1:] > b[:-1]) | ((b[1:] == b[:-1]) & (t[1:] > t[:-1]))):
        rows = rows[np.lexsort((t, b))]
        b, t = keys.b[rows], keys.t[rows]
        if np.any((b[1:] == b[:-1]) & (t[1:] == t[:-1])):
            raise ValueError("bygningsfakta har flere rækker for samme bygning og kvartal")
    return rows


def _quarter_rows(facts: pd.DataFrame, keys: Keys, defs: Definitions, normal: pd.Series) -> dict[str, np.ndarray]:
    """The kvartal rows, sorted by building and quarter, as numpy columns (NaN for missing): keys,
    `_row` (the position in facts), the submitted values the quarter rules read, and heat's weather
    inputs with the defaults filled in (the category's w, the normal year's degree days)."""
    rows = _quarter_positions(facts, keys)
    ix = _indexer(rows)
    kv = {"_row": rows, "_b": keys.b[ix], "_t": keys.t[ix], "_kat": keys.kat[ix]}
    kv.update({c: _column(facts, c, ix) for c in QUARTER_NUMERIC})
    w, by_category = _column(facts, "w_pct", ix), defs.w_default()
    w_default = keyfigures.per_value(facts["kategori"].iloc[ix], lambda c: by_category.get(c, np.nan), np.nan)
    kv["w_pct"] = np.where(np.isnan(w), w_default, w)
    normal_q = np.array([float(sum(normal[m] for m in range(3 * q - 2, 3 * q + 1))) for q in range(1, 5)])
    gd_normal = _column(facts, "gd_normal", ix)
    kv["gd_normal"] = np.where(gd_normal > 0, gd_normal, normal_q[kv["_t"] % 4])
    gd_actual = _column(facts, "gd_actual", ix)
    kv["gd_actual"] = np.where(gd_actual > 0, gd_actual, kv["gd_normal"])
    return kv


def _period_str(t) -> str:
    t = int(t)
    return f"{t // 4}Q{t % 4 + 1}"


def _heat_share(w_pct, gd, gd_year: float):
    """The share of a normal year's heat that falls in a quarter with `gd` degree days."""
    w = w_pct / 100
    return w / 4 + (1 - w) * gd / gd_year


# --------------------------------------------------------------------------------------------------
# Building a finding
# --------------------------------------------------------------------------------------------------


WHO = ("periode", "kommunekode", "bygning_id", "navn", "kategori")


def _rows(rows, t, b) -> pd.DataFrame:
    """Finding keys: fact row position, quarter index and building key (names come at the end)."""
    return pd.DataFrame({"_row": np.asarray(rows, dtype="int64"), "_t": np.asarray(t, dtype="int64"),
                         "_b": np.asarray(b, dtype="int64")})


def _with_names(found: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """Fill periode, municipality, building, name and category from the facts (one lookup for all)."""
    from_facts = found["_row"] >= 0
    rows = found.loc[from_facts, "_row"].to_numpy()
    sub = facts.iloc[rows]
    found = found.copy()
    for c in WHO:
        found[c] = found[c].astype(object)
        found.loc[from_facts, c] = sub[c].astype(object).to_numpy()
    return found


def _hits(who: pd.DataFrame, regel: str, kolonne, vaerdi, cols, texts, noegletal=None, vindue="kvartal") -> pd.DataFrame:
    """Findings, one per row of `who` (finding keys from `_rows`, or names already known)."""
    out = who.reset_index(drop=True).copy()
    n = len(out)
    for c in (*WHO, "_row", "_b"):
        if c not in out:
            out[c] = -1 if c == "_row" else None
    out["kolonne"] = kolonne
    out["vaerdi"] = np.asarray(vaerdi, dtype="float64") if np.ndim(vaerdi) else float(vaerdi)
    out["regel"] = regel
    out["forklaring"] = list(texts)
    out["noegletal"] = noegletal
    out["_vindue"] = vindue
    out["_cols"] = [list(cols)] * n
    return out


def _none(regel: str) -> pd.DataFrame:
    return _hits(_rows([], [], []), regel, None, [], [], [])


def _at(kv: dict[str, np.ndarray], hit: np.ndarray) -> pd.DataFrame:
    """Finding keys of the kvartal rows at positions `hit`."""
    return _rows(kv["_row"][hit], kv["_t"][hit], kv["_b"][hit])


def _decimals(x) -> int:
    a = abs(float(x))
    return 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 0.1 or a == 0 else 4


def _da(x, decimals: int | None = None) -> str:
    """Danish number format with decimals by size (1.234 / 12,3 / 0,12)."""
    if x is None or not np.isfinite(x):
        return "–"
    return formatting.number(x, _decimals(x) if decimals is None else decimals)


def _val(x, unit: str, decimals: int | None = None) -> str:
    text = _da(x, decimals)
    return f"{text} {unit}" if text != "–" else text


def _cat_name(defs: Definitions, kategori: str) -> str:
    cat = defs.kategorier.get(kategori)
    return cat.navn_da.lower() if cat else str(kategori)


# --------------------------------------------------------------------------------------------------
# Rules on the submitted quarter values (kv: the kvartal rows as numbers, `_row` = position in facts)
# --------------------------------------------------------------------------------------------------


def _quarter_rules(kv: dict[str, np.ndarray], facts: pd.DataFrame, defs: Definitions,
                   gd_year: float) -> list[pd.DataFrame]:
    """The rules on the submitted quarter values (their work arrays are freed on return)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # missing values and zeros are judged, not warned about
        lags = _lag_positions(kv)
        # category and quarter as one group number 0, 1, ... for the category medians
        groups = pd.factorize((kv["_kat"] + 1) * (kv["_t"].max(initial=0) + 1) + kv["_t"])[0]
        levels = {c: _level(kv, c, gd_year, groups) for c in UNIT_COLUMNS}
        slips, slipped = _unit_slips(kv, lags, levels)
        # the jump rule takes one column's levels at a time (ten columns × two arrays is ≈ 300 MB nationally)
        level_of = lambda c: levels.pop(c) if c in levels else _level(kv, c, gd_year, groups)  # noqa: E731
        costs = _costs(kv)
        return [
            _area_consistency(kv),
            _costs_without_area(kv, costs),
            slips,
            _zeros(kv),
            _jumps(kv, lags, level_of, slipped),
            _category_changes(kv, facts, defs),
            _zero_users(kv, costs),
        ]


def _area_consistency(kv: dict[str, np.ndarray]) -> pd.DataFrame:
    tomt, brutto = kv["tomt_areal_m2"], kv["bruttoareal_m2"]
    hit = np.flatnonzero(tomt > brutto)
    texts = (RULES["inkonsistent_areal"].tekst.format(tomt=_val(t, "m²", 0), brutto=_val(b, "m²", 0))
             for t, b in zip(tomt[hit], brutto[hit]))
    return _hits(_at(kv, hit), "inkonsistent_areal", "tomt_areal_m2", tomt[hit], ["tomt_areal_m2"], texts)


def _costs(kv: dict[str, np.ndarray]) -> np.ndarray:
    """The quarter's costs: the sum of the reported cost columns, NaN when none is reported."""
    total, reported = np.zeros(len(kv["_row"])), np.zeros(len(kv["_row"]), dtype=bool)
    for c in model.COST_COLUMNS:
        known = ~np.isnan(kv[c])
        total += np.where(known, kv[c], 0.0)
        reported |= known
    return np.where(reported, total, np.nan)


def _costs_without_area(kv: dict[str, np.ndarray], costs: np.ndarray) -> pd.DataFrame:
    brutto = kv["bruttoareal_m2"]
    hit = np.flatnonzero((costs > 0) & ~(brutto > 0))
    texts = (RULES["udgift_uden_areal"].tekst.format(udgift=_val(c, "kr.", 0)) for c in costs[hit])
    return _hits(_at(kv, hit), "udgift_uden_areal", "bruttoareal_m2", brutto[hit], ["bruttoareal_m2"], texts)


def _intensity(kv: dict[str, np.ndarray], column: str, gd_year: float) -> np.ndarray:
    """Annualised amount per m²: heat by the degree days of the quarter (so quarters and years are
    comparable whatever the weather), the other flows ×4."""
    if column == "varme_kwh":
        annual = kv[column] / _heat_share(kv["w_pct"], kv["gd_actual"], gd_year)
    else:
        annual = kv[column] * 4
    brutto = kv["bruttoareal_m2"]
    return np.where(brutto > 0, annual / brutto, np.nan)


def _level(kv: dict[str, np.ndarray], column: str, gd_year: float,
           groups: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(value, category median in the quarter) used by the slip and jump rules; NaN unless positive.

    Flows as annualised intensities (per m²) with their category median; stocks as reported (no median).
    """
    if column not in FLOW_COLUMNS:
        return np.where(kv[column] > 0, kv[column], np.nan), None
    x = _intensity(kv, column, gd_year)
    x = np.where(x > 0, x, np.nan)
    return x, keyfigures.group_medians(x, groups, int(groups.max(initial=-1)) + 1)[groups]


def _lag_positions(kv: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Per lag 1..JUMP_LAGS: the row of the same building that many quarters earlier (-1: none).

    The rows are sorted by building and quarter, so that row is one of the JUMP_LAGS rows before.
    """
    b, t = kv["_b"], kv["_t"]
    lags = [np.full(len(b), -1, dtype=np.int64) for _ in range(JUMP_LAGS)]
    for back in range(1, JUMP_LAGS + 1):
        quarters = t[back:] - t[:-back]  # between each row and the row `back` rows before
        quarters[b[back:] != b[:-back]] = 0  # another building
        for lag in range(back, JUMP_LAGS + 1):
            at = np.flatnonzero(quarters == lag) + back
            lags[lag - 1][at] = at - back
    return lags


def _extended(values: np.ndarray) -> np.ndarray:
    """`values` with a NaN appended: read at lag position -1 (no such quarter), it gives NaN."""
    return np.append(values, np.nan)


def _previous(extended: np.ndarray, lags: list[np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(len(rows) × JUMP_LAGS) positions and values (from `_extended`) of the building's rows 1, 2, …
    quarters before each of `rows` (position -1 and NaN where the building has no such quarter)."""
    positions = np.column_stack([lag[rows] for lag in lags])
    return positions, extended[positions]


def _row_median(a: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (NaN when the row has none); np.nanmedian is slow here."""
    s = np.sort(a, axis=1)  # NaN sorts last
    n = (~np.isnan(a)).sum(axis=1)
    rows = np.arange(len(a))
    lo, hi = s[rows, np.maximum(n - 1, 0) // 2], s[rows, np.minimum(n // 2, a.shape[1] - 1)]
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def _between(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (a >= lo) & (a <= hi)


def _unit_slips(kv: dict[str, np.ndarray], lags: list[np.ndarray],
                levels: dict) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The findings, and per column the rows that are slips (the jump rule does not compare with them)."""
    out, slipped = [], {}
    lo, hi = UNIT_BAND
    for col, (unit, big_unit, small_unit) in UNIT_COLUMNS.items():
        x, cat = levels[col]
        # a value normal for the category is no slip, even if the building's own history was one; only
        # the other values (few) are compared with the category and the building's own level
        cat_normal = np.abs(np.log10(cat / x)) < np.log10(CATEGORY_NORMAL_FACTOR)
        candidates = np.flatnonzero(~cat_normal & (x > 0))
        own = _row_median(_previous(_extended(x), lags, candidates)[1])
        x, cat = x[candidates], cat[candidates]
        r_own, r_cat = own / x, cat / x  # > 1: the value is too small
        low_own, high_own = _between(r_own, lo, hi), _between(1 / r_own, lo, hi)
        low_cat, high_cat = _between(r_cat, lo, hi), _between(1 / r_cat, lo, hi)
        mask = low_own | low_cat | high_own | high_cat
        slipped[col] = hit = candidates[mask]
        if not len(hit):
            continue
        low = (low_own | low_cat)[mask]
        by_own = np.where(low, low_own[mask], high_own[mask])
        ref = np.where(by_own, own[mask], cat[mask])  # annual intensity the value is compared with
        value = kv[col][hit]
        quarter_ref = value * ref / x[mask]  # the reference level as an amount for this quarter
        ratio = np.where(low, ref / x[mask], x[mask] / ref)
        texts = [
            RULES["enhed_1000"].tekst.format(
                kolonne=COLUMN_NAMES_DA[col], vaerdi=_val(v, unit, 1), faktor=_da(r, 0),
                retning="gange lavere" if is_low else "gange højere",
                reference="bygningens niveau i de foregående kvartaler" if own_ref else "niveauet for kategorien i kvartalet",
                forventet=_val(qref, unit, 0), forkert=big_unit if is_low else small_unit, enhed=unit,
            )
            for v, r, is_low, own_ref, qref in zip(value, ratio, low, by_own, quarter_ref)
        ]
        out.append(_hits(_at(kv, hit), "enhed_1000", col, value, [col], texts))
    found = pd.concat(out, ignore_index=True) if out else _none("enhed_1000")
    return found, slipped


def _in_use(kv: dict[str, np.ndarray]) -> np.ndarray:
    brutto = kv["bruttoareal_m2"]
    large = brutto >= ZERO_MIN_AREA_M2
    not_vacant = ~(kv["tomt_areal_m2"] >= 0.5 * brutto)
    has_users = ~(kv["brugere"] == 0)
    return large & not_vacant & has_users


def _zeros(kv: dict[str, np.ndarray]) -> pd.DataFrame:
    in_use = _in_use(kv)
    el = np.flatnonzero(in_use & (kv["el_kwh"] == 0))
    heat = np.flatnonzero(in_use & (kv["varme_kwh"] == 0) & (kv["gd_normal"] >= ZERO_HEAT_MIN_NORMAL_GD))
    return pd.concat([
        _hits(_at(kv, el), "nul_el", "el_kwh", 0.0, ["el_kwh"],
              (RULES["nul_el"].tekst.format(areal=_val(a, "m²", 0)) for a in kv["bruttoareal_m2"][el])),
        _hits(_at(kv, heat), "nul_varme", "varme_kwh", 0.0, ["varme_kwh"],
              (RULES["nul_varme"].tekst.format(areal=_val(a, "m²", 0), periode=_period_str(t))
               for a, t in zip(kv["bruttoareal_m2"][heat], kv["_t"][heat]))),
    ], ignore_index=True)


def _jumps(kv: dict[str, np.ndarray], lags: list[np.ndarray], level_of,
           slipped: dict[str, np.ndarray]) -> pd.DataFrame:
    """`level_of(column)` gives the column's `_level`."""
    out = []
    for col in (*JUMP_FLOWS, *JUMP_STOCKS):
        x, cat = level_of(col)
        level = x / cat if col in JUMP_FLOWS else x  # flows: removes seasons, prices and weather shared by all
        before = _extended(level)
        if col in slipped:
            before[slipped[col]] = np.nan  # a unit slip is no level to compare with
        # a jump is more than a factor 3 from every one of the four previous quarters, so a value within
        # a factor 2,9 of the previous quarter is surely none: only the other values (few) are judged
        r = level / before[lags[0]]
        close = (r >= 1 / (JUMP_FACTOR - 0.1)) & (r <= JUMP_FACTOR - 0.1)
        candidates = np.flatnonzero(~close & (level > 0))
        positions, prev = _previous(before, lags, candidates)
        ratio = level[candidates, None] / prev
        dist = np.where(ratio > 0, np.maximum(ratio, 1 / ratio), np.inf)  # factor either way
        idx = dist.argmin(axis=1)  # the previous quarter closest to this one
        rows = np.arange(len(candidates))
        mask = np.isfinite(dist[rows, idx]) & (dist[rows, idx] > JUMP_FACTOR)
        if not mask.any():
            continue
        hit, r, i = candidates[mask], ratio[rows, idx][mask], idx[mask]
        value, ref_raw = kv[col][hit], kv[col][positions[rows[mask], i]]
        unit = UNITS_DA.get(col, "kr.")
        texts = [
            RULES["spring"].tekst.format(
                kolonne=COLUMN_NAMES_DA[col], vaerdi=_val(v, unit, 0), faktor=_da(max(q, 1 / q), 1),
                retning="højere" if q > 1 else "lavere", reference=f"{_val(rr, unit, 0)} i {_period_str(t - 1 - j)}",
                saeson=", korrigeret for sæson og for udviklingen i kategorien" if col in JUMP_FLOWS else "",
            )
            for v, q, rr, t, j in zip(value, r, ref_raw, kv["_t"][hit], i)
        ]
        out.append(_hits(_at(kv, hit), "spring", col, value, [col], texts))
    return pd.concat(out, ignore_index=True) if out else _none("spring")


def _missing_quarters(store, facts: pd.DataFrame, kv: dict[str, np.ndarray]) -> pd.DataFrame:
    """Buildings listed for a quarter without values, and gaps between two reported quarters.

    (a) Listed in the quarter's bygninger without a kvartal row, or with every value empty: read
    from the submissions (newest revision of each), since such a building has no values in the facts;
    only submissions with fewer kvartal rows than buildings are searched for (a), which is cheap
    because ingest lets no kvartal row name a building that is not in bygninger.
    (b) Values in the quarters before and after, and missing from the municipality's submission for
    the quarter in between: found in the kvartal rows of the facts (`kv`, sorted by building and
    quarter), named by the quarter before. Nationally this is 0.02 s of SQL instead of 0.5 s when the
    submissions were joined once more for (b).
    """
    values = " OR ".join(f"k.{c} IS NOT NULL" for c in model.column_ids("kvartal")[3:])
    t = "CAST(substr(periode, 1, 4) AS INTEGER) * 4 + CAST(substr(periode, 6, 1) AS INTEGER) - 1"
    latest = f"""latest AS MATERIALIZED (
          SELECT indberetning_id, kommunekode, {t} AS _t FROM indberetninger
          QUALIFY revision = max(revision) OVER (PARTITION BY kommunekode, periode))"""
    listed = store.query(f"""
        WITH {latest},
        listed AS (SELECT indberetning_id, count(*) AS n FROM bygninger GROUP BY ALL),
        with_row AS (SELECT indberetning_id, count(*) AS n FROM kvartal GROUP BY ALL),
        short AS MATERIALIZED (  -- submissions with buildings that have no kvartal row
          SELECT l.* FROM latest l JOIN listed USING (indberetning_id) LEFT JOIN with_row w USING (indberetning_id)
          WHERE listed.n > coalesce(w.n, 0))
        SELECT s.kommunekode, b.bygning_id, s._t, s.indberetning_id, 'ingen_raekke' AS hvad
        FROM bygninger b JOIN short s USING (indberetning_id)
        ANTI JOIN (SELECT indberetning_id, bygning_id FROM kvartal SEMI JOIN short USING (indberetning_id)) k
          USING (indberetning_id, bygning_id)
        WHERE b.bygning_id IS NOT NULL
        UNION ALL
        SELECT l.kommunekode, k.bygning_id, l._t, k.indberetning_id, 'tomme_vaerdier' AS hvad
        FROM kvartal k JOIN latest l USING (indberetning_id) WHERE NOT ({values})""")
    submitted = store.query(f"WITH {latest} SELECT kommunekode, _t FROM latest")
    if len(listed):
        listed = listed.merge(_building_names(store, listed["indberetning_id"]), on=["indberetning_id", "bygning_id"])
    rows = pd.concat([listed.drop(columns="indberetning_id"), _gaps(facts, kv, submitted, listed)], ignore_index=True)
    if rows.empty:
        return _none("manglende_kvartal")
    rows = rows.sort_values(["kommunekode", "bygning_id", "_t"], kind="stable")
    rows["periode"] = rows["_t"].map(_period_str)
    what = {
        "ingen_raekke": "står i arket bygninger for {p}, men har ingen række i arket kvartal",
        "tomme_vaerdier": "står i arket bygninger for {p}, men alle dens værdier i arket kvartal er tomme",
        "hul": "har tal for {før} og {efter}, men mangler helt i kommunens indberetning for {p}",
    }
    texts = (
        RULES["manglende_kvartal"].tekst.format(
            hvad=what[h].format(p=_period_str(t), før=_period_str(t - 1), efter=_period_str(t + 1)))
        for h, t in zip(rows["hvad"], rows["_t"])
    )
    who = rows[[*WHO, "_t"]].astype({"kommunekode": "int64", "bygning_id": str, "navn": str, "kategori": str})
    return _hits(who, "manglende_kvartal", None, np.nan, [], texts)


def _gaps(facts: pd.DataFrame, kv: dict[str, np.ndarray], submitted: pd.DataFrame,
          listed: pd.DataFrame) -> pd.DataFrame:
    """(b) of `_missing_quarters`: a building's consecutive kvartal rows two quarters apart, both with
    a value, where the municipality submitted the quarter between and did not list the building in it."""
    b, t = kv["_b"], kv["_t"]
    ix = _indexer(kv["_row"])
    has = np.zeros(len(b), dtype=bool)
    for c in model.column_ids("kvartal")[3:]:
        if c in facts:
            has |= ~np.isnan(_column(facts, c, ix))
    before = np.flatnonzero((b[1:] == b[:-1]) & (t[1:] - t[:-1] == 2) & has[1:] & has[:-1])
    found = facts.iloc[kv["_row"][before]][["kommunekode", "bygning_id", "navn", "kategori"]]
    found = found.astype(object).assign(_t=t[before] + 1, hvad="hul").reset_index(drop=True)
    found["kommunekode"] = found["kommunekode"].astype("int64")
    found = found.merge(submitted.astype({"kommunekode": "int64", "_t": "int64"}), on=["kommunekode", "_t"])
    gone = found.merge(listed[["kommunekode", "bygning_id", "_t"]].astype({"kommunekode": "int64", "_t": "int64"}),
                       on=["kommunekode", "bygning_id", "_t"], how="left", indicator=True)["_merge"] == "left_only"
    return found[gone.to_numpy()]


def _building_names(store, submissions: pd.Series) -> pd.DataFrame:
    """navn and kategori of the buildings (indberetning_id, bygning_id) of the given submissions.

    Read from those submissions only: joined with the hits in SQL, DuckDB read all of bygninger and
    built a hash table of its 2 million rows (nationally) for a handful of findings.
    """
    ids = ", ".join(str(int(i)) for i in sorted(submissions.unique()))
    return store.query(f"""
        SELECT b.indberetning_id, b.bygning_id, b.navn, coalesce(b.kategori, c.kategori, 'oevrige') AS kategori
        FROM bygninger b LEFT JOIN bbr_koder c ON c.anvendelseskode = b.anvendelseskode
        WHERE b.indberetning_id IN ({ids}) AND b.bygning_id IS NOT NULL""")


def _category_changes(kv: dict[str, np.ndarray], facts: pd.DataFrame, defs: Definitions) -> pd.DataFrame:
    b, kat = kv["_b"], kv["_kat"]
    changed = np.flatnonzero((b[1:] == b[:-1]) & (kat[1:] != kat[:-1])) + 1  # against the building's previous row
    if not len(changed):
        return _none("kategori_skift")
    code_from, code_to = (_column(facts, "anvendelseskode", kv["_row"][r]) for r in (changed - 1, changed))
    name = lambda k: _cat_name(defs, model.CATEGORIES[k]) if 0 <= k < len(model.CATEGORIES) else "ukendt"  # noqa: E731
    num = lambda c: "ukendt" if not np.isfinite(c) else str(int(c))  # noqa: E731
    texts = (
        RULES["kategori_skift"].tekst.format(fra=name(f), til=name(t), kode_fra=num(cf), kode_til=num(ct))
        for f, t, cf, ct in zip(kat[changed - 1], kat[changed], code_from, code_to)
    )
    return _hits(_at(kv, changed), "kategori_skift", "kategori", code_to, ["kategori"], texts)


def _zero_users(kv: dict[str, np.ndarray], costs: np.ndarray) -> pd.DataFrame:
    hit = np.flatnonzero((kv["brugere"] == 0) & (costs > 0))
    texts = (RULES["brugere_nul"].tekst.format(udgift=_val(c, "kr.", 0)) for c in costs[hit])
    return _hits(_at(kv, hit), "brugere_nul", "brugere", 0.0, ["brugere"], texts,
                 noegletal="driftsudgift_pr_bruger")


# --------------------------------------------------------------------------------------------------
# Rules on the building key figures: plausible ranges and robust outliers
# --------------------------------------------------------------------------------------------------


def _checked_windows(k: KeyFigure, defs: Definitions) -> tuple[list[str], list[str], list[str]]:
    """Windows a key figure is checked in, its flow columns and the submitted columns it names."""
    cols = defs.expression(k.id, "taeller").columns + defs.expression(k.id, "naevner").columns
    flows = [c for c in dict.fromkeys(cols) if defs.kolonner[c].kind == "flow"]
    windows = (["kvartal"] if set(flows) <= QUARTER_SAFE_FLOWS else []) + (["loebende_aar"] if flows else [])
    source = list(dict.fromkeys(SOURCE_COLUMN.get(c, c) for c in cols))
    named = [c for c in source if c != "bruttoareal_m2"] or source
    return windows, flows, named


def _checked_figures(defs: Definitions, window: str) -> list[tuple[KeyFigure, list[str], list[str]]]:
    """(figure, its flow columns, the submitted columns it names) of the figures with ranges that are
    checked in `window` (the building figures whose columns the checks read)."""
    readable = set(NUMERIC)
    plan = [
        (k, *_checked_windows(k, defs)) for k in defs.noegletal
        if k.intervaller and "bygning" in k.niveauer
        and set(defs.expression(k.id, "taeller").columns + defs.expression(k.id, "naevner").columns) <= readable
    ]
    return [(k, flows, named) for k, windows, flows, named in plan if window in windows]


def _key_figure_findings(hits: pd.DataFrame, plan, window: str, defs: Definitions) -> list[pd.DataFrame]:
    """Findings from the hits of key-figure rules (columns fig, regel, _row, _t, _b, _kat, value, and lo,
    hi and med: the range and the median of whichever rule)."""
    by_id = {k.id: (k, flows, named) for k, flows, named in plan}
    out = []
    for (fig, rule), h in hits.groupby(["fig", "regel"], sort=False):
        k, flows, named = by_id[fig]
        out.append(_hits(_rows(h["_row"], h["_t"], h["_b"]), rule, ", ".join(named), h["value"], named,
                         _key_figure_texts(rule, k, h, bool(flows), window, defs), noegletal=k.id, vindue=window))
    return out


def _range_checks(facts: pd.DataFrame, keys: Keys, kv: dict[str, np.ndarray], defs: Definitions,
                  gd_year: float) -> list[Callable[[], pd.DataFrame]]:
    """The range rules, one check per key figure with ranges (both windows), to be run in any order
    and thread. Window loebende_aar: a building value outside the category's range is interval_aar.
    Window kvartal: a stock figure outside the range is interval_kvartal; a figure of flows (as annual
    amounts: heat by the quarter's share of a normal year, the rest × 4) more than GROSS_FACTOR
    outside is interval_groft, and else outside the range widened by QUARTER_SLACK it is
    interval_kvartal, but only while the building has no rolling-year value of the figure for the
    quarter (the calibrated check speaks then)."""
    plans = {w: {k.id: (k, flows, named) for k, flows, named in _checked_figures(defs, w)}
             for w in ("loebende_aar", "kvartal")}
    year_rows = np.flatnonzero((facts["vindue"] == "loebende_aar").to_numpy())
    ix = {"loebende_aar": _indexer(year_rows), "kvartal": _indexer(kv["_row"])}
    at = {"loebende_aar": {"_row": year_rows, "_b": keys.b[ix["loebende_aar"]], "_t": keys.t[ix["loebende_aar"]],
                           "_kat": keys.kat[ix["loebende_aar"]]},
          "kvartal": {c: kv[c] for c in ("_row", "_b", "_t", "_kat")}}
    bound_of = {w: (rows["_kat"] + 1).astype(np.intp) for w, rows in at.items()}  # -1: unknown, no range
    # window kvartal judges flows as annual amounts; heat by the quarter's share of a normal year
    w, gd_normal = kv["w_pct"], kv["gd_normal"]
    heat = 1 / (w / 400 + (1 - w / 100) * gd_normal / gd_year)
    t0 = int(keys.t.min()) if len(keys.t) else 0
    span = int(keys.t.max(initial=t0)) - t0 + 1
    bounds = _range_bounds([k for k, _, _ in {**plans["kvartal"], **plans["loebende_aar"]}.values()])

    def values(k: KeyFigure, window: str, flows: list[str]) -> np.ndarray:
        @functools.cache  # the zero check below reads the flows again
        def column(c: str) -> np.ndarray:
            x = _column(facts, c, ix[window])
            if window == "kvartal" and c in FLOW_COLUMNS:
                x = x * (heat if c.startswith("varme") else 4)
            return x

        v = _building_value(defs, k, column, len(at[window]["_row"]))
        if window == "kvartal" and flows:  # a zero in a quarter is judged by the nul_* rules
            v = np.where(np.logical_or.reduce([column(c) == 0 for c in flows]), np.nan, v)
        return v

    def check(fig: str) -> pd.DataFrame:
        found = []
        year = None
        for window in ("loebende_aar", "kvartal"):
            if fig not in plans[window]:
                continue
            k, flows, named = plans[window][fig]
            v = values(k, window, flows)
            b = lambda name: np.take(bounds[fig][name], bound_of[window])  # noqa: E731 (a bound on every row)
            with np.errstate(invalid="ignore"):
                outside = (v < b("lo")) | (v > b("hi"))
                if window == "loebende_aar":
                    year = v
                    rules = {"interval_aar": outside}
                elif not flows:
                    rules = {"interval_kvartal": outside}
                else:  # far outside blocks; otherwise the calibrated rolling-year check speaks when there is one
                    gross = (v < b("lo_groft")) | (v > b("hi_groft"))
                    quarter = ((v < b("lo_kvartal")) | (v > b("hi_kvartal"))) & ~gross
                    maybe = np.flatnonzero(quarter)
                    quarter[maybe[_has_rolling_year(at, maybe, year, t0, span)]] = False
                    rules = {"interval_groft": gross, "interval_kvartal": quarter}
            hits = pd.concat([pd.DataFrame({
                "fig": fig, "regel": rule, **{c: at[window][c][hit] for c in ("_row", "_t", "_b", "_kat")},
                "value": v[hit], **{c: bounds[fig][c][bound_of[window][hit]] for c in ("lo", "hi")}, "med": np.nan,
            }) for rule, broken in rules.items() for hit in [np.flatnonzero(broken)]], ignore_index=True)
            found += _key_figure_findings(hits, [(k, flows, named)], window, defs)
        return pd.concat(found, ignore_index=True) if found else _none("interval_aar")

    return [functools.partial(check, fig) for fig in dict.fromkeys([*plans["loebende_aar"], *plans["kvartal"]])]


def _building_value(defs: Definitions, k: KeyFigure, column: Callable[[str], np.ndarray], n: int) -> np.ndarray:
    """The building value taeller / naevner of key figure `k` on `n` rows, `column(c)` a column's
    values; NaN where the numerator is missing or the denominator is not positive (as the mart)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        taeller, naevner = (defs.expression(k.id, part).evaluate(column) for part in ("taeller", "naevner"))
        return np.broadcast_to(np.where(naevner > 0, taeller / naevner, np.nan), (n,))


def _has_rolling_year(at: dict, rows: np.ndarray, year: np.ndarray | None, t0: int, span: int) -> np.ndarray:
    """Whether the buildings of the kvartal rows `rows` have a rolling-year value of the figure
    (`year`, on the loebende_aar rows) ending in the same quarter."""
    if year is None or not len(rows):
        return np.zeros(len(rows), dtype=bool)
    ok = ~np.isnan(year)
    have = np.sort(at["loebende_aar"]["_b"][ok] * span + (at["loebende_aar"]["_t"][ok] - t0))
    want = at["kvartal"]["_b"][rows] * span + (at["kvartal"]["_t"][rows] - t0)
    # a binary search for the few candidate rows (np.isin hashes all 1,8 million rolling years)
    return have[np.minimum(np.searchsorted(have, want), len(have) - 1)] == want if len(have) else np.zeros(len(rows), bool)


def _range_bounds(figures: list[KeyFigure]) -> dict[str, dict[str, np.ndarray]]:
    """Per figure the bounds of the range rules by category (position `_kat` + 1; the first is the
    unknown category, NaN where there is no range): lo, hi, and those of interval_groft and
    interval_kvartal. Computed by DuckDB from the sheet's numbers as SQL literals, which are exact
    decimals (0.35 * 5.0 is 1.75 exactly, not the float product): the same bounds, to the last bit,
    as when the rules were SQL."""
    if not figures:
        return {}
    with duckdb.connect() as con:
        out = {}
        for k in figures:
            lo, hi = _bounds_sql(k)
            exprs = {"lo": lo, "hi": hi, "lo_groft": f"{lo} / {GROSS_FACTOR}", "hi_groft": f"{hi} * {GROSS_FACTOR}",
                     "lo_kvartal": f"{lo} / {QUARTER_SLACK}", "hi_kvartal": f"{hi} * {QUARTER_SLACK}"}
            sql = ", ".join(f"CAST({e} AS DOUBLE) AS {name}" for name, e in exprs.items())
            table = con.sql(f"SELECT {sql} FROM (SELECT range AS _kat FROM range(-1, {len(model.CATEGORIES)})) "
                            "ORDER BY _kat").df()
            out[k.id] = {name: table[name].to_numpy(dtype=np.float64, na_value=np.nan) for name in exprs}
        return out


def _bounds_sql(k: KeyFigure) -> tuple[str, str]:
    """The category's plausible range of a key figure (lo, hi), by `_kat`."""
    cases = {part: " ".join(
        f"WHEN {i} THEN {float(getattr(r, part))}" for i, c in enumerate(model.CATEGORIES) if (r := k.range_for(c))
    ) for part in ("min", "max")}
    return f"(CASE _kat {cases['min']} END)", f"(CASE _kat {cases['max']} END)"


def _outlier_checks(facts: pd.DataFrame, keys: Keys, defs: Definitions,
                    window: str = "loebende_aar") -> list[Callable[[], pd.DataFrame]]:
    """The robust-outlier rule (afvigende), one check per intensity figure (a flow per stock), to be
    run in any order and thread: per figure, the ln of the positive building values of `window`,
    grouped by quarter, category and ownership (rented buildings pay rent).

    In numpy from the facts (`keyfigures.group_median_and_mad`), not with DuckDB's median: nationally
    (nine figures, 1,8 million rolling years) DuckDB took 1,2-1,3 s on both cores, this about 1 s on
    one, and the figures fill the gaps of the two workers of `find`."""
    plan = [(k, flows, named) for k, flows, named in _checked_figures(defs, window)
            if k.vindue.taeller == "flow" and k.vindue.naevner == "stock"]
    rows = np.flatnonzero((facts["vindue"] == window).to_numpy())
    if not plan or not len(rows):
        return []
    ix = _indexer(rows)
    t, b, kat = keys.t[ix], keys.b[ix], keys.kat[ix]
    lejet = _column(facts, "lejet_areal_m2", ix) > 0
    group = ((t - t.min()) * (len(model.CATEGORIES) + 1) + kat + 1) * 2 + lejet  # kat -1: unknown
    n_groups = int(group.max()) + 1

    def check(k: KeyFigure, flows: list[str], named: list[str]) -> pd.DataFrame:
        v = _building_value(defs, k, lambda c: _column(facts, c, ix), len(rows))
        positive = np.flatnonzero(v > 0)  # NaN is not
        x, g = np.log(v[positive]), group[positive]
        count, median, mad = keyfigures.group_median_and_mad(x, g, n_groups)
        # deviation > `beyond` of its group: more than Z robust standard deviations (inf: no judgement)
        beyond = np.where((count >= OUTLIER_MIN_GROUP) & (mad > 0), OUTLIER_Z * 1.4826 * mad, np.inf)
        deviation = np.abs(x - median[g])
        outlier = (deviation > beyond[g]) & (deviation >= np.log(OUTLIER_MIN_FACTOR))
        hit = positive[outlier]
        hits = pd.DataFrame({
            "fig": k.id, "regel": "afvigende", "_row": rows[hit], "_t": t[hit], "_b": b[hit], "_kat": kat[hit],
            "value": v[hit], "lo": np.nan, "hi": np.nan, "med": median[g[outlier]],
        })
        found = _key_figure_findings(hits, [(k, flows, named)], window, defs)
        return found[0] if found else _none("afvigende")

    return [functools.partial(check, *p) for p in plan]


def _key_figure_texts(rule: str, k: KeyFigure, h: pd.DataFrame, has_flows: bool, window: str,
                      defs: Definitions) -> list[str]:
    unit = k.enhed_da
    periods = [_period_str(t) for t in h["_t"]]
    categories = [model.CATEGORIES[c] if 0 <= c < len(model.CATEGORIES) else "ukendt" for c in h["_kat"]]
    if rule == "afvigende":
        where = (f"løbende år til og med {p}" if window == "loebende_aar" else "kvartalet, omregnet til helår"
                 for p in periods)
        return [
            RULES[rule].tekst.format(
                noegletal=k.navn_da, vaerdi=_val(v, unit), vindue=w, faktor=_da(np.exp(abs(np.log(v) - m)), 1),
                retning="højere" if np.log(v) > m else "lavere",
                kategori=_cat_name(defs, c), median=_val(np.exp(m), unit),
            )
            for v, w, m, c in zip(h["value"], where, h["med"], categories)
        ]
    # a category's range repeats in thousands of findings: format each once
    bounds = functools.cache(lambda lo, hi: (_da(lo, _decimals(hi)), _val(hi, unit)))
    return [
        RULES[rule].tekst.format(
            noegletal=k.navn_da, vaerdi=_val(v, unit), periode=p, kategori=_cat_name(defs, c), min=low, max=high,
            omregnet=" omregnet til helår ud fra kvartalet" if has_flows else " i kvartalet",
        )
        for v, p, c, (low, high) in zip(h["value"], periods, categories, map(bounds, h["lo"], h["hi"]))
    ]


# --------------------------------------------------------------------------------------------------
# One cause, one finding
# --------------------------------------------------------------------------------------------------


def _one_finding_per_cause(found: pd.DataFrame, defs: Definitions) -> pd.DataFrame:
    found = found.reset_index(drop=True)
    rule_order = {r: i for i, r in enumerate(RULES)}
    figure_order = {k: i for i, k in enumerate(defs.ids())}
    severity = found["regel"].map(lambda r: SEVERITIES.index(RULES[r].alvor))
    # fejl first, then the order of RULES, then fewer columns, then the definitions sheet's order
    found["_prio"] = (severity * 1_000_000 + found["regel"].map(rule_order) * 10_000
                      + found["_cols"].map(len) * 100 + found["noegletal"].map(figure_order).fillna(0))
    ex = found[["_b", "_t", "_vindue", "_prio", "_cols"]].explode("_cols").dropna(subset=["_cols"])
    ex["_id"] = ex.index
    cell = ["_b", "_t", "_cols"]
    beaten = ex["_prio"] > ex.groupby(cell)["_prio"].transform("min")
    drop = set(ex.loc[beaten, "_id"])
    # a quarter finding covers the rolling years ending in that quarter and the three after it
    quarter = ex.loc[ex["_vindue"] == "kvartal", cell]
    cover = pd.concat([quarter.assign(_t=quarter["_t"] + lag) for lag in range(4)]).drop_duplicates()
    year = ex[ex["_vindue"] == "loebende_aar"]
    drop |= set(year.merge(cover, on=cell)["_id"]) if len(year) else set()
    return found.drop(index=sorted(drop))


def _finish(found: pd.DataFrame) -> pd.DataFrame:
    found = found.assign(alvor=found["regel"].map(lambda r: RULES[r].alvor) if len(found) else [])
    out = found.assign(_sev=found["alvor"].map(lambda a: SEVERITIES.index(a) if a in SEVERITIES else 9))
    out = out.sort_values(["_t", "kommunekode", "bygning_id", "_sev", "regel"], kind="stable")
    out = out[FINDING_COLUMNS].reset_index(drop=True)
    for c in ("periode", "bygning_id", "navn", "kategori", "kolonne", "regel", "alvor", "forklaring", "noegletal"):
        out[c] = out[c].astype(object).where(out[c].notna(), None).astype("string")
    out["kommunekode"] = out["kommunekode"].astype("int64")
    out["vaerdi"] = out["vaerdi"].astype("float64")
    return out
