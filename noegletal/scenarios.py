"""Scenarios for decision proposals: the effect of less area or fewer buildings on m², costs and m² per user.

Pure functions on building facts (rows of `bygningsfakta`: one quarter and one window; use window
`loebende_aar` for annual amounts). They take the frame and the municipality, check the building ids,
and return a tidy before/after table with the columns
`enhed` ("i_alt" or a bygning_id), `navn`, `maal`, `maal_da`, `maaleenhed`, `foer`, `efter`,
`aendring`, `aendring_pct`.

What scales with m² (documented assumptions):
- Falls in proportion to the m² removed: cleaning (rengoering_kr), utilities (forsyning_kr), planned
  and reactive maintenance (vedligehold_planlagt_kr, vedligehold_akut_kr), technical operation
  (teknisk_drift_kr), and the consumption behind utilities (varme_kwh, el_kwh, vand_m3).
- Does not fall with a percentage cut: property administration (administration_kr, mostly a central
  cost) and rent (husleje_kr: less m² inside a lease needs a new lease, which a percentage cannot say).
- Closing a building removes its m², the area-related costs above and its rent (the lease ends);
  its administration stays (central). Its users move to the receiving building, whose costs are
  kept as they are (no extra m²).
- Not reported (empty) values stay empty; totals add up the reported values. m² per user is the
  ratio of sums over the buildings that report users, as the key figure areal_pr_bruger.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from noegletal import model

AREA_COSTS: tuple[str, ...] = (
    "rengoering_kr", "forsyning_kr", "vedligehold_planlagt_kr", "vedligehold_akut_kr", "teknisk_drift_kr",
)
AREA_CONSUMPTION: tuple[str, ...] = ("varme_kwh", "el_kwh", "vand_m3")
COST_NAMES_DA = {
    "rengoering_kr": "Rengøring", "forsyning_kr": "Forsyning", "vedligehold_planlagt_kr": "Planlagt vedligehold",
    "vedligehold_akut_kr": "Akut vedligehold", "teknisk_drift_kr": "Teknisk drift",
    "administration_kr": "Ejendomsadministration", "husleje_kr": "Husleje",
}
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("bruttoareal_m2", "Bruttoareal", "m²"),
    ("brugere", "Brugere", "brugere"),
    ("m2_pr_bruger", "Areal pr. bruger", "m² pr. bruger"),
    ("driftsudgift_kr", "Driftsudgift i alt", "kr."),
    *((c, COST_NAMES_DA[c], "kr.") for c in model.COST_COLUMNS),
    ("driftsudgift_pr_m2", "Driftsudgift pr. m²", "kr. pr. m²"),
    ("varme_kwh", "Varmeforbrug", "kWh"),
    ("el_kwh", "Elforbrug", "kWh"),
    ("vand_m3", "Vandforbrug", "m³"),
)
BUILDING_MEASURES = ("bruttoareal_m2", "brugere", "m2_pr_bruger")
OUTPUT_COLUMNS = ["enhed", "navn", "maal", "maal_da", "maaleenhed", "foer", "efter", "aendring", "aendring_pct"]


class ScenarioError(ValueError):
    """Invalid scenario input (unknown building, wrong municipality, bad percentage); Danish message."""


def municipality_facts(facts: pd.DataFrame, kommunekode: int) -> pd.DataFrame:
    """The municipality's rows; the frame must hold exactly one quarter and one window."""
    for col, what in (("periode", "ét kvartal"), ("vindue", "ét vindue")):
        values = facts[col].dropna().unique()
        if len(values) > 1:
            raise ScenarioError(f"Bygningsfakta skal være for {what}, men indeholder {', '.join(sorted(map(str, values)))}.")
    own = facts[facts["kommunekode"].astype(int) == int(kommunekode)].copy()
    if own.empty:
        raise ScenarioError(f"Der er ingen bygninger for kommune {kommunekode} i bygningsfakta.")
    own["bygning_id"] = own["bygning_id"].astype(str)
    if own["bygning_id"].duplicated().any():
        raise ScenarioError("Bygningsfakta har flere rækker for samme bygning; vælg ét kvartal og ét vindue.")
    for c in ("bruttoareal_m2", "brugere", *model.COST_COLUMNS, *AREA_CONSUMPTION):
        own[c] = pd.to_numeric(own[c], errors="coerce").astype("float64")
    return own.set_index("bygning_id", drop=False)


def reduce_area(facts: pd.DataFrame, kommunekode: int, pct: float, kategori: str | None = None) -> pd.DataFrame:
    """Cut `pct` % of the m² (of one category, or all); area-related costs and consumption fall alike."""
    if not isinstance(pct, (int, float)) or not 0 < float(pct) < 100:
        raise ScenarioError(f"Arealreduktionen skal være en procent mellem 0 og 100, ikke {pct!r}.")
    own = municipality_facts(facts, kommunekode)
    if kategori is not None:
        if kategori not in model.CATEGORIES:
            raise ScenarioError(f"Ukendt kategori '{kategori}'. Kendte: {', '.join(model.CATEGORIES)}.")
        own = own[own["kategori"].astype(str) == kategori]
        if own.empty:
            raise ScenarioError(f"Kommune {kommunekode} har ingen bygninger i kategorien {kategori}.")
    after = own.copy()
    keep = 1 - float(pct) / 100
    for c in ("bruttoareal_m2", *AREA_COSTS, *AREA_CONSUMPTION):
        after[c] = after[c] * keep
    scope = f"Kommune {kommunekode}" + (f", kategori {kategori}" if kategori else "") + f": {_num(pct)} % mindre areal"
    return _table([("i_alt", scope, _totals(own), _totals(after), MEASURES)])


def close_buildings(
    facts: pd.DataFrame,
    kommunekode: int,
    close: Sequence[str],
    receiving: str | Mapping[str, str],
) -> pd.DataFrame:
    """Close buildings and move their users to a receiving building (one for all, or a dict closed → receiver).

    Rows: the municipality in total, each receiving building and each closed building, before and after.
    """
    own = municipality_facts(facts, kommunekode)
    closed = list(dict.fromkeys(str(b) for b in ([close] if isinstance(close, str) else close)))
    if not closed:
        raise ScenarioError("Angiv mindst én bygning, der lukkes.")
    targets = {c: str(receiving) for c in closed} if isinstance(receiving, str) else {str(k): str(v) for k, v in receiving.items()}
    missing_target = [c for c in closed if c not in targets]
    if missing_target:
        raise ScenarioError(f"Ingen modtagende bygning for: {', '.join(missing_target)}.")
    extra = [c for c in targets if c not in closed]
    if extra:
        raise ScenarioError(f"Modtager angivet for bygninger, der ikke lukkes: {', '.join(extra)}.")
    _check_ids(facts, own, kommunekode, closed, "lukkes")
    receivers = list(dict.fromkeys(targets.values()))
    _check_ids(facts, own, kommunekode, receivers, "modtager brugerne")
    both = sorted(set(closed) & set(receivers))
    if both:
        raise ScenarioError(f"En bygning kan ikke både lukkes og modtage brugere: {', '.join(both)}.")

    after = own.copy()
    # a closed building keeps only its (central) administration; x * 0 keeps "not reported" empty
    for c in ("bruttoareal_m2", *AREA_COSTS, "husleje_kr", *AREA_CONSUMPTION):
        after.loc[closed, c] = after.loc[closed, c] * 0.0
    after.loc[closed, "brugere"] = np.nan
    moved = own.loc[closed, "brugere"].groupby(pd.Series(targets)[closed].to_numpy()).sum(min_count=1)
    for r, users in moved.items():
        if pd.notna(users):
            after.loc[r, "brugere"] = np.nansum([after.loc[r, "brugere"], users])
    parts = [("i_alt", f"Kommune {kommunekode} i alt", _totals(own), _totals(after), MEASURES)]
    for r in receivers:
        parts.append((r, _name(own, r) + " (modtager)", _totals(own.loc[[r]]), _totals(after.loc[[r]]), _building_measures()))
    for c in closed:
        parts.append((c, _name(own, c) + " (lukkes)", _totals(own.loc[[c]]), _totals(after.loc[[c]]), _building_measures()))
    return _table(parts)


def _check_ids(facts: pd.DataFrame, own: pd.DataFrame, kommunekode: int, ids: list[str], role: str) -> None:
    for b in ids:
        if b in own.index:
            continue
        elsewhere = facts.loc[facts["bygning_id"].astype(str) == b, "kommunekode"]
        if len(elsewhere):
            raise ScenarioError(
                f"Bygning {b}, som {role}, hører til kommune {int(elsewhere.iloc[0])}, ikke kommune {kommunekode}."
            )
        raise ScenarioError(f"Bygning {b}, som {role}, findes ikke blandt kommune {kommunekode}s bygninger.")


def _totals(df: pd.DataFrame) -> dict[str, float]:
    costs = df[list(model.COST_COLUMNS)]
    with_users = df["brugere"].notna() & (df["bruttoareal_m2"] > 0)
    area = float(df["bruttoareal_m2"].sum())
    total_cost = float(costs.sum(axis=1, min_count=1).sum(min_count=1))
    users = float(df.loc[with_users, "brugere"].sum())
    out = {
        "bruttoareal_m2": area,
        "brugere": float(df["brugere"].sum()),
        "m2_pr_bruger": float(df.loc[with_users, "bruttoareal_m2"].sum()) / users if users > 0 else np.nan,
        "driftsudgift_kr": total_cost,
        "driftsudgift_pr_m2": total_cost / area if area > 0 else np.nan,
    }
    for c in (*model.COST_COLUMNS, *AREA_CONSUMPTION):
        out[c] = float(df[c].sum(min_count=1))
    return out


def _building_measures() -> tuple[tuple[str, str, str], ...]:
    return tuple(m for m in MEASURES if m[0] in BUILDING_MEASURES)


def _table(parts) -> pd.DataFrame:
    rows = []
    for enhed, navn, before, after, measures in parts:
        for key, label, unit in measures:
            b, a = before[key], after[key]
            rows.append({"enhed": enhed, "navn": navn, "maal": key, "maal_da": label, "maaleenhed": unit,
                         "foer": b, "efter": a, "aendring": a - b,
                         "aendring_pct": 100.0 * (a - b) / b if b and np.isfinite(b) else np.nan})
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def _name(own: pd.DataFrame, bygning_id: str) -> str:
    navn = own.loc[bygning_id, "navn"] if "navn" in own else None
    return f"{navn} ({bygning_id})" if isinstance(navn, str) and navn else bygning_id


def _num(x: float) -> str:
    return f"{float(x):g}".replace(".", ",")
