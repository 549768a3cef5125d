"""Benchmarks for one municipality: position among peers, change, expected value, decomposition, savings.

Everything is read from the key-figure mart (table `noegletal`): other municipalities enter only with
their municipality-level rows (taeller, naevner, vaerdi); building rows are read for the municipality
in focus only (DESIGN.md: a municipality's report never shows another municipality's buildings).
By default a key figure is read at `niveau = 'kommune'`; with `kategori` it is read at
`niveau = 'kategori'` for that category (e.g. schools only).

Definitions used throughout:
- Peer-set figure ("gruppens tal") = Σ taeller / Σ naevner over the peers' municipality rows (the
  same ratio of sums as every group figure), beside the median of the peers' values.
- Rank: 1 = best among the peers and the municipality itself, by the key figure's direction;
  `percentil` = the share (%) of peers the municipality is better than (ties count half). Key
  figures with direction `ingen` get neither.
- Benchmarks (`benchmark_value`): "peer_median" (median of the peers' values), "peer_value" (the
  peer-set figure) or "best_quartile" (25th percentile of the peers' values when lower is better,
  75th when higher is better).
- Expected value (`expected`): OLS of the municipality-level key figure on structure (category mix,
  mean building age, mean building size) across all members with a value, with a 95 % prediction
  interval. With too few members there is no regression, and the result says why.
- Decomposition (`decompose`): the gap to the benchmark split into the child key figures
  (definitions `parent`). Each child is put on the parent's denominator (child taeller / parent
  naevner), so with "peer_value" the child gaps add up to the parent gap exactly when the children's
  numerators add up to the parent's; medians do not add up, and whatever is not explained by the
  children is shown as its own row ("rest"), so the rows always sum to the total gap.
- Building contributions (`building_contributions`): for the municipality's own buildings in the
  group figure, bidrag = taeller − benchmark × naevner (the amount the building is above the
  benchmark level for its size); the contributions add up to naevner_total × (own value − benchmark),
  and `andel_pct` is each building's share of the excess (the sum of the positive contributions).
- Savings potential (`savings`): max(0, own value − benchmark) × own naevner (for lower-is-better;
  mirrored for higher-is-better), in the numerator's unit (e.g. kr. a year in window loebende_aar).
  A municipality already better than the benchmark has potential 0, never a negative saving.
- For the reports: `overview` (the headline table of many key figures), `peer_values`,
  `peer_trend`, `member_changes`, and `things_to_look_into` (the chief report's three things,
  chosen from the largest gaps, changes and data-quality issues; see `look_into_candidates`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from noegletal import formatting, model, peers
from noegletal.definitions import Definitions, KeyFigure
from noegletal.definitions import default as default_definitions

BENCHMARKS: tuple[str, ...] = ("peer_median", "peer_value", "best_quartile")
DEFAULT_REGRESSORS: tuple[str, ...] = (
    "andel_skole", "andel_dagtilbud", "andel_plejecenter", "gns_bygningsalder", "gns_bygningsstoerrelse_m2",
)
MIN_REGRESSION_MEMBERS = 8
MIN_RESIDUAL_DF = 3
REGRESSOR_NAMES_DA = {
    **{f"andel_{c}": f"andel af m² i kategori {c}" for c in model.CATEGORIES},
    "gns_bygningsalder": "gennemsnitlig bygningsalder (år, arealvægtet)",
    "gns_bygningsstoerrelse_m2": "gennemsnitlig bygningsstørrelse (m²)",
    "befolkning": "befolkning",
}


class BenchmarkError(ValueError):
    """A benchmark that cannot be computed (no value, unknown key figure, …); Danish message."""


# --------------------------------------------------------------------------------------------------
# Reading the mart
# --------------------------------------------------------------------------------------------------


def kommune_values(store, periode: str, noegletal: str, vindue: str = "loebende_aar",
                   kategori: str | None = None) -> pd.DataFrame:
    """Municipality-level rows (kommunekode, vaerdi, taeller, naevner) of one key figure, with a value."""
    _check_args(store, periode, noegletal, vindue, kategori)
    if kategori is None:
        where, params = "niveau = 'kommune'", []
    else:
        where, params = "niveau = 'kategori' AND kategori = ?", [kategori]
    df = store.query(
        f"SELECT kommunekode, vaerdi, taeller, naevner FROM {_group_source(store)} "
        f"WHERE periode = ? AND vindue = ? AND noegletal = ? AND {where} AND vaerdi IS NOT NULL "
        "ORDER BY kommunekode",
        [periode, vindue, noegletal, *params],
    )
    df["kommunekode"] = df["kommunekode"].astype(int)
    return df.set_index("kommunekode")


def own_value(store, kommunekode: int, periode: str, noegletal: str, vindue: str = "loebende_aar",
              kategori: str | None = None) -> float:
    values = kommune_values(store, periode, noegletal, vindue, kategori)
    return float(_own_row(values, kommunekode, periode, noegletal, vindue, kategori)["vaerdi"])


def _own_row(values: pd.DataFrame, kommunekode: int, periode: str, noegletal: str, vindue: str,
             kategori: str | None) -> pd.Series:
    if int(kommunekode) not in values.index:
        raise BenchmarkError(
            f"Kommune {kommunekode} har ingen værdi for {noegletal} i {periode} ({vindue}"
            + (f", kategori {kategori}" if kategori else "") + ")."
        )
    return values.loc[int(kommunekode)]


# --------------------------------------------------------------------------------------------------
# Position among peers
# --------------------------------------------------------------------------------------------------


def position(
    store,
    kommunekode: int,
    periode: str,
    noegletal: str,
    peer_sets: list[peers.PeerSet],
    vindue: str = "loebende_aar",
    kategori: str | None = None,
    defs: Definitions | None = None,
) -> pd.DataFrame:
    """One row per peer set: own value, peer-set figure, peer median, rank and percentile."""
    kf = _figure(noegletal, defs)
    values = kommune_values(store, periode, noegletal, vindue, kategori)
    own = float(_own_row(values, kommunekode, periode, noegletal, vindue, kategori)["vaerdi"])
    rows = []
    for ps in peer_sets:
        p = _peer_rows(values, ps, kommunekode)
        rank, of, pct = _rank(own, p["vaerdi"], kf)
        rows.append({
            "peer_set": ps.id,
            "navn_da": ps.navn_da,
            "antal": len(p),
            "egen_vaerdi": own,
            "gruppe_vaerdi": _ratio(p["taeller"].sum(), p["naevner"].sum()) if len(p) else np.nan,
            "gruppe_median": float(p["vaerdi"].median()) if len(p) else np.nan,
            "placering": rank,
            "ud_af": of,
            "percentil": pct,
            "retning": kf.retning,
        })
    out = pd.DataFrame(rows)
    out["placering"] = out["placering"].astype("Int64")
    return out


def _rank(own: float, peer_values: pd.Series, kf: KeyFigure) -> tuple[int | None, int, float | None]:
    """(rank among peers + self with 1 = best, size, % of peers the municipality is better than)."""
    of = len(peer_values) + 1
    if kf.retning == "ingen" or peer_values.empty:
        return None, of, None
    sign = 1.0 if kf.lower_is_better else -1.0
    better = int((sign * peer_values < sign * own).sum())
    worse = int((sign * peer_values > sign * own).sum())
    ties = len(peer_values) - better - worse
    return better + 1, of, 100.0 * (worse + 0.5 * ties) / len(peer_values)


# --------------------------------------------------------------------------------------------------
# Change over time
# --------------------------------------------------------------------------------------------------


def changes(store, kommunekode: int, periode: str, noegletal: str, vindue: str = "loebende_aar",
            kategori: str | None = None, defs: Definitions | None = None) -> pd.DataFrame:
    """Change against the previous quarter and the same quarter last year (NaN where there is no value)."""
    kf = _figure(noegletal, defs)
    now = own_value(store, kommunekode, periode, noegletal, vindue, kategori)
    rows = []
    for label, lag in (("forrige_kvartal", 1), ("samme_kvartal_sidste_aar", 4)):
        then_period = model.shift_period(periode, -lag)
        then = kommune_values(store, then_period, noegletal, vindue, kategori)["vaerdi"].get(int(kommunekode), np.nan)
        diff = now - then
        rows.append({
            "sammenligning": label,
            "periode": then_period,
            "vaerdi_nu": now,
            "vaerdi_da": then,
            "aendring": diff,
            "aendring_pct": 100.0 * diff / then if then and np.isfinite(then) else np.nan,
            "bedre": None if kf.retning == "ingen" or not np.isfinite(diff) or diff == 0
            else bool((diff < 0) == kf.lower_is_better),
        })
    out = pd.DataFrame(rows)
    out["bedre"] = out["bedre"].astype("boolean")
    return out


# --------------------------------------------------------------------------------------------------
# Expected value from structure
# --------------------------------------------------------------------------------------------------


@dataclass
class Expectation:
    """Actual vs expected per municipality, the fitted model, and a note when there is no model."""

    tabel: pd.DataFrame  # kommunekode, faktisk, forventet, nedre, oevre, forskel, uden_for_interval
    koefficienter: pd.DataFrame = field(default_factory=pd.DataFrame)  # variabel, koefficient, std_fejl, p_vaerdi
    r2: float | None = None
    n: int = 0
    regressorer: list[str] = field(default_factory=list)
    note: str | None = None


def fit_expected(values: pd.Series, struct: pd.DataFrame, regressors=DEFAULT_REGRESSORS,
                 alpha: float = 0.05) -> Expectation:
    """OLS of `values` (indexed by kommunekode) on the `regressors` columns of `struct`.

    Regressors that do not vary among the members are dropped (they cannot be estimated). With fewer
    than MIN_REGRESSION_MEMBERS members, or fewer than MIN_RESIDUAL_DF degrees of freedom left, there
    is no model: `forventet` is NaN and `note` explains why.
    """
    import statsmodels.api as sm

    unknown = [r for r in regressors if r not in struct.columns]
    if unknown:
        raise BenchmarkError(f"Ukendte forklarende variable: {', '.join(unknown)}.")
    data = struct.loc[struct.index.intersection(values.index), list(regressors)].astype(float)
    data = data.join(values.rename("faktisk").astype(float)).dropna()
    table = pd.DataFrame({"kommunekode": data.index.astype(int), "faktisk": data["faktisk"].to_numpy()})
    used = [r for r in regressors if data[r].std(ddof=0) > 0]
    n, k = len(data), len(used)
    notes = []
    if len(used) < len(regressors):
        dropped = [REGRESSOR_NAMES_DA.get(r, r) for r in regressors if r not in used]
        notes.append(f"Udeladt, fordi de ikke varierer mellem kommunerne: {', '.join(dropped)}.")
    if n < MIN_REGRESSION_MEMBERS or n - k - 1 < MIN_RESIDUAL_DF:
        need = max(MIN_REGRESSION_MEMBERS, k + 1 + MIN_RESIDUAL_DF)
        notes.append(
            f"Ingen forventet værdi: regressionen kræver mindst {need} kommuner med tal "
            f"({k} forklarende variable), men der er kun {n}."
        )
        for c in ("forventet", "nedre", "oevre", "forskel"):
            table[c] = np.nan
        table["uden_for_interval"] = False
        return Expectation(table, n=n, regressorer=used, note=" ".join(notes))
    X = sm.add_constant(data[used], has_constant="add")
    res = sm.OLS(data["faktisk"], X).fit()
    pred = res.get_prediction(X).summary_frame(alpha=alpha)
    table["forventet"] = pred["mean"].to_numpy()
    table["nedre"] = pred["obs_ci_lower"].to_numpy()
    table["oevre"] = pred["obs_ci_upper"].to_numpy()
    table["forskel"] = table["faktisk"] - table["forventet"]
    table["uden_for_interval"] = (table["faktisk"] < table["nedre"]) | (table["faktisk"] > table["oevre"])
    coef = pd.DataFrame({
        "variabel": res.params.index,
        "koefficient": res.params.to_numpy(),
        "std_fejl": res.bse.to_numpy(),
        "p_vaerdi": res.pvalues.to_numpy(),
    })
    return Expectation(table, coef, float(res.rsquared), n, used, " ".join(notes) or None)


def expected(store, periode: str, noegletal: str, vindue: str = "loebende_aar", kategori: str | None = None,
             regressors=DEFAULT_REGRESSORS, alpha: float = 0.05) -> Expectation:
    """`fit_expected` on the mart's municipality values and the members' structure in the quarter."""
    values = kommune_values(store, periode, noegletal, vindue, kategori)["vaerdi"]
    return fit_expected(values, peers.structure(store, periode), regressors, alpha)


# --------------------------------------------------------------------------------------------------
# Benchmark value, decomposition, building contributions, savings
# --------------------------------------------------------------------------------------------------


def benchmark_of(peer_rows: pd.DataFrame, kf: KeyFigure, benchmark: str = "peer_median") -> float:
    """The benchmark value from the peers' municipality rows (vaerdi, taeller, naevner)."""
    if benchmark not in BENCHMARKS:
        raise BenchmarkError(f"Ukendt benchmark '{benchmark}'. Vælg en af: {', '.join(BENCHMARKS)}.")
    if peer_rows.empty:
        raise BenchmarkError("Sammenligningsgruppen har ingen kommuner med en værdi for nøgletallet.")
    if benchmark == "peer_median":
        return float(peer_rows["vaerdi"].median())
    if benchmark == "peer_value":
        return _ratio(peer_rows["taeller"].sum(), peer_rows["naevner"].sum())
    if kf.retning == "ingen":
        raise BenchmarkError(f"'{kf.navn_da}' har ingen retning (bedre/dårligere), så der er ingen bedste kvartil.")
    return float(np.percentile(peer_rows["vaerdi"], 25 if kf.lower_is_better else 75))


def benchmark_value(store, kommunekode: int, periode: str, noegletal: str, peer_set: peers.PeerSet,
                    vindue: str = "loebende_aar", benchmark: str = "peer_median", kategori: str | None = None,
                    defs: Definitions | None = None) -> float:
    values = kommune_values(store, periode, noegletal, vindue, kategori)
    return benchmark_of(_peer_rows(values, peer_set, kommunekode), _figure(noegletal, defs), benchmark)


def decompose(store, kommunekode: int, periode: str, noegletal: str, peer_set: peers.PeerSet,
              vindue: str = "loebende_aar", benchmark: str = "peer_median", kategori: str | None = None,
              defs: Definitions | None = None) -> pd.DataFrame:
    """The gap to the benchmark split into the child key figures, plus a `rest` row and the total.

    Columns: noegletal, navn_da, egen, benchmark, forskel, andel_pct (share of the total gap). The
    child rows and `rest` add up to the total row (`noegletal` = the parent) by construction.
    """
    defs = defs or default_definitions()
    parent = _figure(noegletal, defs)
    children = defs.children(noegletal)
    if not children:
        raise BenchmarkError(f"'{parent.navn_da}' har ingen underliggende nøgletal at nedbryde i.")
    for c in children:
        if defs.expression(c.id, "naevner").text != defs.expression(noegletal, "naevner").text:
            raise BenchmarkError(f"'{c.navn_da}' har en anden nævner end '{parent.navn_da}' og kan ikke lægges sammen.")
    p_values = kommune_values(store, periode, noegletal, vindue, kategori)
    own_parent = float(_own_row(p_values, kommunekode, periode, noegletal, vindue, kategori)["vaerdi"])
    total_bench = benchmark_of(_peer_rows(p_values, peer_set, kommunekode), parent, benchmark)
    rows = []
    for c in children:
        # the child on the parent's denominator: taeller_child / naevner_parent (0 where not reported)
        taeller = kommune_values(store, periode, c.id, vindue, kategori)["taeller"].reindex(p_values.index).fillna(0.0)
        frame = pd.DataFrame({"vaerdi": taeller / p_values["naevner"], "taeller": taeller,
                              "naevner": p_values["naevner"]})
        own_c = float(frame.loc[int(kommunekode), "vaerdi"])
        # children are judged in the parent's direction (a child may have none of its own)
        bench_c = benchmark_of(_peer_rows(frame, peer_set, kommunekode), parent, benchmark)
        rows.append({"noegletal": c.id, "navn_da": c.navn_da, "egen": own_c, "benchmark": bench_c,
                     "forskel": own_c - bench_c})
    out = pd.DataFrame(rows)
    gap = own_parent - total_bench
    rest_own = own_parent - out["egen"].sum()
    rest_bench = total_bench - out["benchmark"].sum()
    out = pd.concat([out, pd.DataFrame([
        {"noegletal": "rest", "navn_da": "Ikke fordelt (medianer og kvartiler kan ikke lægges sammen)"
         if benchmark != "peer_value" else "Ikke fordelt", "egen": rest_own, "benchmark": rest_bench,
         "forskel": gap - out["forskel"].sum()},
        {"noegletal": noegletal, "navn_da": f"{parent.navn_da} i alt", "egen": own_parent, "benchmark": total_bench,
         "forskel": gap},
    ])], ignore_index=True)
    out["andel_pct"] = 100.0 * out["forskel"] / gap if gap else np.nan
    return out


def building_contributions(store, kommunekode: int, periode: str, noegletal: str, benchmark: float,
                           vindue: str = "loebende_aar", kategori: str | None = None, top: int | None = None,
                           defs: Definitions | None = None) -> pd.DataFrame:
    """The municipality's own buildings ranked by how much they put the municipality above the benchmark.

    bidrag = taeller − benchmark × naevner (mirrored for higher-is-better, so a positive bidrag is
    always "worse than the benchmark"). Only buildings that are in the group figure count; the
    contributions add up to naevner_total × (own value − benchmark). `andel_pct` is the share of the
    total excess (the sum of the positive contributions); buildings better than the benchmark have
    a negative share.
    """
    kf = _figure(noegletal, defs)
    _check_args(store, periode, noegletal, vindue, kategori)
    cond, params = "", []
    if kategori is not None:
        cond, params = "AND kategori = ?", [kategori]
    rows = store.query(
        "SELECT enhed AS bygning_id, kategori, vaerdi, taeller, naevner, udeladt FROM noegletal "
        "WHERE niveau = 'bygning' AND kommunekode = ? AND periode = ? AND vindue = ? AND noegletal = ? "
        f"AND taeller IS NOT NULL AND naevner IS NOT NULL {cond} ORDER BY enhed",
        [int(kommunekode), periode, vindue, noegletal, *params],
    )
    rows = rows[~rows["udeladt"].fillna(False).astype(bool)].drop(columns="udeladt")
    names = store.query(
        "SELECT DISTINCT bygning_id, navn FROM bygningsfakta WHERE kommunekode = ? AND periode = ? AND vindue = ?",
        [int(kommunekode), periode, vindue],
    ) if store.has_table("bygningsfakta") else pd.DataFrame(columns=["bygning_id", "navn"])
    rows = rows.merge(names, on="bygning_id", how="left")
    sign = -1.0 if kf.retning == "hoejere_er_bedre" else 1.0
    rows["bidrag"] = sign * (rows["taeller"] - float(benchmark) * rows["naevner"])
    excess = rows["bidrag"].clip(lower=0).sum()
    rows["andel_pct"] = 100.0 * rows["bidrag"] / excess if excess else np.nan
    rows = rows.sort_values(["bidrag", "bygning_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    cols = ["bygning_id", "navn", "kategori", "vaerdi", "taeller", "naevner", "bidrag", "andel_pct"]
    return rows[cols].head(int(top)) if top else rows[cols]


def savings(store, kommunekode: int, periode: str, noegletal: str, peer_set: peers.PeerSet,
            vindue: str = "loebende_aar", benchmark: str = "peer_median", kategori: str | None = None,
            defs: Definitions | None = None) -> dict:
    """Savings potential against a benchmark: max(0, own − benchmark) × own naevner (see module docstring)."""
    kf = _figure(noegletal, defs)
    if kf.retning == "ingen":
        raise BenchmarkError(f"'{kf.navn_da}' har ingen retning, så der er intet besparelsespotentiale.")
    if " pr. " not in kf.enhed_da:
        raise BenchmarkError(f"'{kf.navn_da}' ({kf.enhed_da}) er ikke et beløb pr. enhed; potentiale × areal giver ikke mening.")
    values = kommune_values(store, periode, noegletal, vindue, kategori)
    own_row = _own_row(values, kommunekode, periode, noegletal, vindue, kategori)
    own, naevner = float(own_row["vaerdi"]), float(own_row["naevner"])
    bench = benchmark_of(_peer_rows(values, peer_set, kommunekode), kf, benchmark)
    worse_by = (own - bench) if kf.lower_is_better else (bench - own)
    potential = max(0.0, worse_by) * naevner
    unit = kf.enhed_da.split(" pr. ")[0]
    return {
        "noegletal": noegletal,
        "peer_set": peer_set.id,
        "benchmark": benchmark,
        "egen_vaerdi": own,
        "benchmark_vaerdi": bench,
        "naevner": naevner,
        "potentiale": potential,
        "enhed": unit,
        "note": None if worse_by > 0 else "Kommunen ligger allerede på eller bedre end benchmark: intet potentiale.",
    }


# --------------------------------------------------------------------------------------------------
# For the reports: many key figures at once, the peers over time, all members' changes, and the
# things worth looking into (added for the report notebooks)
# --------------------------------------------------------------------------------------------------


def overview(store, kommunekode: int, periode: str, noegletal: Sequence[str], peer_set: peers.PeerSet,
             vindue: str = "loebende_aar", benchmark: str = "peer_median", kategori: str | None = None,
             defs: Definitions | None = None) -> pd.DataFrame:
    """The headline table: one row per key figure the municipality has a value for, in the given order.

    Columns: noegletal, navn_da, enhed_da, retning, egen; aendring_kvartal and aendring_aar (against
    the previous quarter and the same quarter last year, in the key figure's unit; NaN without a
    value then), the same in per cent (aendring_kvartal_pct, aendring_aar_pct) and
    bedre_aar (the yearly change went the good way; NA without direction or change); benchmark (of
    the peer set, NaN when it cannot be formed, e.g. best quartile of a figure without direction),
    afvigelse_pct = 100 × (egen − benchmark) / benchmark, bedre (own value better than the
    benchmark); placering and ud_af (rank among the peers and the municipality, 1 = best).
    """
    defs = defs or default_definitions()
    kode = int(kommunekode)
    before = {lag: model.shift_period(periode, -lag) for lag in (1, 4)}
    rows_all = _kommune_rows(store, [periode, *before.values()], noegletal, vindue, kategori)
    rows = []
    for k in noegletal:
        kf = _figure(k, defs)
        values = rows_all.get((periode, k))
        if values is None or kode not in values.index:
            continue
        own = float(values.loc[kode, "vaerdi"])
        then = {lag: _value_of(rows_all.get((p, k)), kode) for lag, p in before.items()}
        peer_rows = _peer_rows(values, peer_set, kode)
        try:
            bench = benchmark_of(peer_rows, kf, benchmark)
        except BenchmarkError:
            bench = np.nan
        rank, of, _ = _rank(own, peer_rows["vaerdi"], kf)
        rows.append({
            "noegletal": k, "navn_da": kf.navn_da, "enhed_da": kf.enhed_da, "retning": kf.retning, "egen": own,
            "aendring_kvartal": own - then[1], "aendring_aar": own - then[4],
            "aendring_kvartal_pct": _pct_change(own, then[1]), "aendring_aar_pct": _pct_change(own, then[4]),
            "bedre_aar": _is_better(own - then[4], kf), "benchmark": bench,
            "afvigelse_pct": _pct_change(own, bench), "bedre": _is_better(own - bench, kf),
            "placering": rank, "ud_af": of,
        })
    out = pd.DataFrame(rows, columns=[
        "noegletal", "navn_da", "enhed_da", "retning", "egen", "aendring_kvartal", "aendring_aar",
        "aendring_kvartal_pct", "aendring_aar_pct", "bedre_aar",
        "benchmark", "afvigelse_pct", "bedre", "placering", "ud_af"])
    for c in ("bedre_aar", "bedre"):
        out[c] = out[c].astype("boolean")
    out["placering"] = out["placering"].astype("Int64")
    return out


def peer_values(store, kommunekode: int, periode: str, noegletal: str, peer_set: peers.PeerSet,
                vindue: str = "loebende_aar", kategori: str | None = None) -> pd.DataFrame:
    """The municipality's and its peers' values with names, for a ranking (columns kommunekode, navn, vaerdi, egen)."""
    values = kommune_values(store, periode, noegletal, vindue, kategori)
    wanted = {int(kommunekode), *(int(c) for c in peer_set.kommunekoder)}
    out = values.loc[values.index.isin(wanted), ["vaerdi"]].reset_index()
    names = store.municipalities().set_index("kommunekode")["navn"]
    out.insert(1, "navn", out["kommunekode"].map(names))
    out["egen"] = out["kommunekode"] == int(kommunekode)
    return out


def peer_trend(store, kommunekode: int, noegletal: str, peer_set: peers.PeerSet, vindue: str = "loebende_aar",
               benchmark: str = "peer_median", kategori: str | None = None,
               defs: Definitions | None = None) -> pd.DataFrame:
    """Own value and the peer set's benchmark in every quarter of the mart (the peer set as given).

    Columns: periode, vaerdi (own; NaN where the municipality has no value), benchmark, antal_peers.
    Quarters in which no peer has a value are left out.
    """
    kf = _figure(noegletal, defs)
    _check_args(store, None, noegletal, vindue, kategori)
    codes = sorted({int(kommunekode), *(int(c) for c in peer_set.kommunekoder)})
    where, params = ("niveau = 'kategori' AND kategori = ?", [kategori]) if kategori else ("niveau = 'kommune'", [])
    df = store.query(
        f"SELECT periode, kommunekode, vaerdi, taeller, naevner FROM {_group_source(store)} "
        f"WHERE vindue = ? AND noegletal = ? AND {where} AND vaerdi IS NOT NULL "
        f"AND kommunekode IN ({', '.join('?' * len(codes))}) ORDER BY periode, kommunekode",
        [vindue, noegletal, *params, *codes],
    )
    df["kommunekode"] = df["kommunekode"].astype(int)
    rows = []
    for periode, part in df.groupby("periode", sort=True):
        part = part.set_index("kommunekode")
        peer_rows = _peer_rows(part, peer_set, kommunekode)
        if peer_rows.empty:
            continue
        rows.append({"periode": periode, "vaerdi": float(part["vaerdi"].get(int(kommunekode), np.nan)),
                     "benchmark": benchmark_of(peer_rows, kf, benchmark), "antal_peers": len(peer_rows)})
    return pd.DataFrame(rows, columns=["periode", "vaerdi", "benchmark", "antal_peers"])


def member_changes(store, periode: str, noegletal: str, vindue: str = "loebende_aar", lag: int = 4,
                   kategori: str | None = None, defs: Definitions | None = None) -> pd.DataFrame:
    """Every member's change against `lag` quarters before (4 = the same quarter last year).

    Columns: kommunekode, vaerdi_nu, vaerdi_da, aendring, aendring_pct, bedre. Only members with a
    value in both quarters.
    """
    kf = _figure(noegletal, defs)
    now = kommune_values(store, periode, noegletal, vindue, kategori)["vaerdi"]
    then = kommune_values(store, model.shift_period(periode, -int(lag)), noegletal, vindue, kategori)["vaerdi"]
    out = pd.DataFrame({"vaerdi_nu": now, "vaerdi_da": then}).dropna().rename_axis("kommunekode").reset_index()
    out["aendring"] = out["vaerdi_nu"] - out["vaerdi_da"]
    out["aendring_pct"] = [_pct_change(a, b) for a, b in zip(out["vaerdi_nu"], out["vaerdi_da"])]
    out["bedre"] = pd.array([_is_better(d, kf) for d in out["aendring"]], dtype="boolean")
    return out


LOOK_INTO_KINDS: tuple[str, ...] = ("datakvalitet", "niveau", "udvikling")
MATERIALITY = 0.05  # a spread below 5 % of the members' median counts as 5 % (look_into_candidates)


def look_into_candidates(store, kommunekode: int, periode: str, peer_set: peers.PeerSet,
                         noegletal: Sequence[str] | None = None, vindue: str = "loebende_aar",
                         benchmark: str = "peer_median", defs: Definitions | None = None) -> pd.DataFrame:
    """Everything that could be worth looking into, each with a score and a one-line Danish reason.

    Columns: slags (datakvalitet | niveau | udvikling), noegletal, familie (the top of its parent
    chain, so cleaning and operating cost count as one subject), score, begrundelse. A score says how
    far the municipality is out in units of the key figure's spread among all members (the robust
    standard deviation 1,4826 × MAD of the members' values, but at least 5 % of their median, so a
    figure on which everybody is alike does not make a small difference look large); positive = worse:
    - niveau: (own value − benchmark of the peer set) / spread;
    - udvikling: (own change over a year − the members' median change) / spread, in the key
      figure's unit: a change everybody had (prices) is no news, and shares (%) do not explode;
    - datakvalitet: blocking findings (`fejl`) in the quarter score infinitely high — figures built
      on wrong data come first; warnings only: the robust z of warnings per 100 buildings.
    Key figures default to every figure with a direction at municipality level.
    """
    from noegletal.presentation import peer_set_text, signed_value, value_text  # Danish numbers in the reasons

    defs = defs or default_definitions()
    kode = int(kommunekode)
    ids = list(noegletal) if noegletal is not None else [
        k.id for k in defs.noegletal if k.retning != "ingen" and "kommune" in k.niveauer]
    last_year = model.shift_period(periode, -4)
    rows_all = _kommune_rows(store, [periode, last_year], ids, vindue, None)
    rows = []
    for k in ids:
        kf = _figure(k, defs)
        values = rows_all.get((periode, k))
        if kf.retning == "ingen" or values is None or kode not in values.index:
            continue
        sign = 1.0 if kf.lower_is_better else -1.0
        unit = kf.enhed_da
        own = float(values.loc[kode, "vaerdi"])
        spread = max(_spread(values["vaerdi"]), MATERIALITY * abs(float(values["vaerdi"].median())))
        if not spread > 0:
            continue
        peer_rows = _peer_rows(values, peer_set, kode)
        if len(peer_rows):
            bench = benchmark_of(peer_rows, kf, benchmark)
            pct = _pct_change(own, bench)
            tail = f", {_signed_pct(pct)}." if np.isfinite(pct) and not unit.startswith("%") else "."
            rows.append({
                "slags": "niveau", "noegletal": k, "familie": _family(k, defs), "score": sign * (own - bench) / spread,
                "begrundelse": f"{kf.navn_da} er {value_text(own, unit)} mod {value_text(bench, unit)} "
                               f"({peer_set_text(peer_set, benchmark)}){tail}",
            })
        then = rows_all.get((last_year, k))
        if then is not None and kode in then.index:
            change = (values["vaerdi"] - then["vaerdi"]).dropna()
            own_change, median_change = float(change.loc[kode]), float(change.median())
            went = "steget" if own_change > 0 else "faldet" if own_change < 0 else "uændret"
            rows.append({
                "slags": "udvikling", "noegletal": k, "familie": _family(k, defs),
                "score": sign * (own_change - median_change) / spread,
                "begrundelse": f"{kf.navn_da} er {went} fra {value_text(float(then.loc[kode, 'vaerdi']))} til "
                               f"{value_text(own, unit)} på et år, mens ændringen hos mediankommunen er "
                               f"{signed_value(median_change, unit)}.",
            })
    rows += _quality_candidates(store, kode, periode)
    out = pd.DataFrame(rows, columns=["slags", "noegletal", "familie", "score", "begrundelse"])
    out["score"] = out["score"].astype(float)
    return out


def pick_things(candidates: pd.DataFrame, n: int = 3, max_per_kind: int = 2) -> pd.DataFrame:
    """The n things to look into: highest score first, one per key-figure family, at most
    `max_per_kind` of a kind (so a report does not name three price levels and nothing else).

    Candidates with a score ≤ 0 (better than the comparison) are taken only when there are fewer
    than n worse ones, and then without the per-kind limit: the list always has n items when there
    are n families to choose from.
    """
    order = {kind: i for i, kind in enumerate(LOOK_INTO_KINDS)}
    ranked = candidates.assign(_kind=candidates["slags"].map(order)).sort_values(
        ["score", "_kind", "noegletal"], ascending=[False, True, True], kind="stable", na_position="last")
    chosen: list[int] = []
    families: set[str] = set()

    def take(rows: pd.DataFrame, limit: int | None) -> None:
        for idx, row in rows.iterrows():
            if len(chosen) >= n:
                return
            family = row["familie"] if isinstance(row["familie"], str) else f"_{row['slags']}"
            same_kind = sum(candidates.loc[i, "slags"] == row["slags"] for i in chosen)
            if idx in chosen or family in families or (limit is not None and same_kind >= limit):
                continue
            chosen.append(idx)
            families.add(family)

    take(ranked[ranked["score"] > 0], max_per_kind)
    take(ranked[ranked["score"] > 0], None)
    take(ranked, None)
    return candidates.loc[chosen].reset_index(drop=True)


def things_to_look_into(store, kommunekode: int, periode: str, peer_set: peers.PeerSet, n: int = 3,
                        noegletal: Sequence[str] | None = None, vindue: str = "loebende_aar",
                        benchmark: str = "peer_median", defs: Definitions | None = None) -> pd.DataFrame:
    """The n things most worth looking into (largest gaps, changes and data-quality issues), with reasons.

    `pick_things(look_into_candidates(...), n)`: columns slags, noegletal, familie, score, begrundelse.
    """
    return pick_things(look_into_candidates(store, kommunekode, periode, peer_set, noegletal, vindue, benchmark, defs), n)


def _quality_candidates(store, kommunekode: int, periode: str) -> list[dict]:
    """The data-quality candidate of `look_into_candidates` (none without findings)."""
    if not store.has_table("fund"):
        return []
    counts = store.query(
        "SELECT f.kommunekode, count(*) FILTER (WHERE alvor = 'fejl') AS fejl, "
        "count(*) FILTER (WHERE alvor = 'advarsel') AS advarsler FROM fund f WHERE periode = ? GROUP BY 1",
        [periode],
    ).set_index("kommunekode")
    buildings = store.query(
        "SELECT kommunekode, count(*) AS n FROM bygningsfakta WHERE periode = ? AND vindue = 'kvartal' GROUP BY 1",
        [periode],
    ).set_index("kommunekode")["n"]
    counts.index = counts.index.astype(int)
    buildings.index = buildings.index.astype(int)
    if kommunekode not in counts.index or kommunekode not in buildings.index:
        return []
    fejl, advarsler = int(counts.loc[kommunekode, "fejl"]), int(counts.loc[kommunekode, "advarsler"])
    if fejl:
        return [{"slags": "datakvalitet", "noegletal": None, "familie": None, "score": np.inf,
                 "begrundelse": f"{fejl} blokerende datafejl i kvartalets indberetning: "
                                "de berørte bygninger er udeladt af nøgletallene, til fejlen er rettet."
                                + (f" Desuden {advarsler} advarsler." if advarsler else "")}]
    rate = (counts["advarsler"].reindex(buildings.index, fill_value=0) / buildings * 100).astype(float)
    spread = _spread(rate)
    if not advarsler or not spread > 0:
        return []
    own, median = float(rate.loc[kommunekode]), float(rate.median())
    return [{"slags": "datakvalitet", "noegletal": None, "familie": None, "score": (own - median) / spread,
             "begrundelse": f"{advarsler} advarsler om datakvaliteten i kvartalet: "
                            f"{formatting.number(own, 1)} pr. 100 bygninger mod {formatting.number(median, 1)} "
                            "hos mediankommunen. Gennemgå dem, før tallene bruges."}]


def _kommune_rows(store, periods: Sequence[str], noegletal: Sequence[str], vindue: str,
                  kategori: str | None) -> dict[tuple[str, str], pd.DataFrame]:
    """`kommune_values` for several quarters and key figures in one query: {(periode, noegletal): frame}."""
    for p in periods:
        _check_args(store, p, noegletal[0] if noegletal else "", vindue, kategori)
    if not noegletal:
        return {}
    where, params = ("niveau = 'kategori' AND kategori = ?", [kategori]) if kategori else ("niveau = 'kommune'", [])
    df = store.query(
        f"SELECT periode, noegletal, kommunekode, vaerdi, taeller, naevner FROM {_group_source(store)} "
        f"WHERE vindue = ? AND {where} AND vaerdi IS NOT NULL "
        f"AND periode IN ({', '.join('?' * len(periods))}) AND noegletal IN ({', '.join('?' * len(noegletal))}) "
        "ORDER BY kommunekode",
        [vindue, *params, *periods, *noegletal],
    )
    df["kommunekode"] = df["kommunekode"].astype(int)
    return {(p, k): part.drop(columns=["periode", "noegletal"]).set_index("kommunekode")
            for (p, k), part in df.groupby(["periode", "noegletal"], sort=False)}


def _value_of(values: pd.DataFrame | None, kommunekode: int) -> float:
    if values is None or kommunekode not in values.index:
        return np.nan
    return float(values.loc[kommunekode, "vaerdi"])


def _spread(values: pd.Series) -> float:
    """Robust standard deviation (1,4826 × MAD); the standard deviation when the MAD is 0."""
    x = pd.Series(values, dtype=float).dropna()
    if len(x) < 2:
        return 0.0
    mad = 1.4826 * float((x - x.median()).abs().median())
    return mad if mad > 0 else float(x.std(ddof=0))


def _family(noegletal: str, defs: Definitions) -> str:
    while defs[noegletal].parent:
        noegletal = defs[noegletal].parent
    return noegletal


def _pct_change(now: float, then: float) -> float:
    return 100.0 * (now - then) / then if then and np.isfinite(then) and np.isfinite(now) else np.nan


def _is_better(diff: float, kf: KeyFigure) -> bool | None:
    if kf.retning == "ingen" or not np.isfinite(diff) or diff == 0:
        return None
    return bool((diff < 0) == kf.lower_is_better)


def _signed_pct(x: float) -> str:
    return formatting.signed(x, "%", 1)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _group_source(store) -> str:
    """Where the group rows are read: `noegletal_grupper` (stored by `compute`) when it exists, about
    five times faster than the `noegletal` view, which also has to consider the building rows; else
    `noegletal` (a hand-made mart in tests)."""
    return "noegletal_grupper" if store.has_table("noegletal_grupper") else "noegletal"


def _peer_rows(values: pd.DataFrame, peer_set: peers.PeerSet, kommunekode: int) -> pd.DataFrame:
    wanted = [int(c) for c in peer_set.kommunekoder if int(c) != int(kommunekode)]
    return values.loc[values.index.isin(wanted)]


def _ratio(t: float, n: float) -> float:
    return float(t) / float(n) if n else np.nan


def _figure(noegletal: str, defs: Definitions | None) -> KeyFigure:
    try:
        return (defs or default_definitions())[noegletal]
    except KeyError:
        raise BenchmarkError(f"Ukendt nøgletal '{noegletal}'.") from None


def _check_args(store, periode: str | None, noegletal: str, vindue: str, kategori: str | None) -> None:
    if periode is not None:
        model.parse_period(periode)
    if vindue not in ("kvartal", "loebende_aar"):
        raise BenchmarkError(f"Ukendt vindue '{vindue}'. Vælg 'kvartal' eller 'loebende_aar'.")
    if kategori is not None and kategori not in model.CATEGORIES:
        raise BenchmarkError(f"Ukendt kategori '{kategori}'. Kendte: {', '.join(model.CATEGORIES)}.")
    if not store.has_table("noegletal"):
        raise BenchmarkError("Der er ingen nøgletal i databasen. Kør først 'noegletal compute'.")
