"""Small hand-made data for the analysis tests (quality, peers, benchmark, scenarios).

Deliberately independent of the key-figure engine: `facts_from` builds the `bygningsfakta` frame the
way DESIGN.md defines it (kvartal rows as reported; loebende_aar = flows summed and stocks averaged
over four quarters, only when all four are there), and `mart_rows` writes `noegletal` rows by hand.

The clean data set: two municipalities (101, 147) with twelve school buildings each, six quarters
2025Q1–2026Q2, every value inside the plausible ranges of the definitions sheet and smooth over
time. Degree days equal the normal year, so measured and corrected heat agree and the quarter's
heat annualises exactly to 120 kWh/m².
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from noegletal import model
from noegletal.store import Store

PERIODS = ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1", "2026Q2"]
NORMAL_GD_Q = {1: 519 + 486 + 444, 2: 311 + 154 + 58, 3: 22 + 18 + 91, 4: 207 + 341 + 461}
GD_YEAR = 3112.0
W_SKOLE = 15.0
CATEGORY_OF_CODE = {421: "skole", 321: "oevrige", 441: "dagtilbud"}


def clean_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(bygninger with a `periode` column, kvartal) for the clean data set."""
    byg_rows, kv_rows = [], []
    for kommune in (101, 147):
        for i in range(12):
            area = 1000.0 + 100 * i
            f = 1 + 0.02 * i + (0.01 if kommune == 147 else 0.0)  # smooth spread, no outliers
            for p in PERIODS:
                q = int(p[-1])
                byg_rows.append({
                    "periode": p, "kommunekode": kommune, "bygning_id": f"B{i:02d}", "ejendom_id": f"E{i:02d}",
                    "navn": f"Skole {i} ({kommune})", "anvendelseskode": 421, "kategori": None,
                    "opfoerelsesaar": 1960 + i, "bruttoareal_m2": area, "ejerforhold": "ejet",
                    "varmeandel_vejruafhaengig_pct": None,
                })
                share = W_SKOLE / 400 + (1 - W_SKOLE / 100) * NORMAL_GD_Q[q] / GD_YEAR
                kv_rows.append({
                    "kommunekode": kommune, "bygning_id": f"B{i:02d}", "periode": p,
                    "tomt_areal_m2": 0.0, "brugere": area / 15,
                    "varme_kwh": area * 120 * f * share, "el_kwh": area * 30 * f / 4, "vand_m3": area * 0.3 * f / 4,
                    "rengoering_kr": area * 100 * f / 4, "forsyning_kr": area * 150 * f / 4,
                    "vedligehold_planlagt_kr": area * 60 * f / 4, "vedligehold_akut_kr": area * 20 * f / 4,
                    "teknisk_drift_kr": area * 30 * f / 4, "administration_kr": area * 15 * f / 4, "husleje_kr": None,
                    "tilstandsgrad": 3.0, "indeklima": 2.0, "efterslaeb_kr": area * 300.0,
                })
    return pd.DataFrame(byg_rows), pd.DataFrame(kv_rows)


def set_value(df: pd.DataFrame, kommune: int, bygning: str, column: str, value, periods=None) -> pd.DataFrame:
    """A copy of `df` with `column` set for one building (in `periods`, default all)."""
    out = df.copy()
    hit = (out["kommunekode"] == kommune) & (out["bygning_id"] == bygning)
    if periods is not None:
        hit &= out["periode"].isin(periods)
    out[column] = out[column].astype(object)
    out.loc[hit, column] = value
    return out


def scale_value(df: pd.DataFrame, kommune: int, bygning: str, column: str, factor: float, periods) -> pd.DataFrame:
    out = df.copy()
    hit = (out["kommunekode"] == kommune) & (out["bygning_id"] == bygning) & out["periode"].isin(periods)
    out.loc[hit, column] = out.loc[hit, column] * factor
    return out


def drop_rows(df: pd.DataFrame, kommune: int, bygning: str, periods) -> pd.DataFrame:
    hit = (df["kommunekode"] == kommune) & (df["bygning_id"] == bygning) & df["periode"].isin(periods)
    return df[~hit].reset_index(drop=True)


def facts_from(byg: pd.DataFrame, kv: pd.DataFrame) -> pd.DataFrame:
    """The `bygningsfakta` frame (both windows) for raw bygninger (with periode) and kvartal rows."""
    j = kv.merge(byg, on=["kommunekode", "bygning_id", "periode"], how="inner")
    j["kategori"] = j["kategori"].where(j["kategori"].notna(), j["anvendelseskode"].map(CATEGORY_OF_CODE))
    j["lejet_areal_m2"] = np.where(j["ejerforhold"] == "lejet", j["bruttoareal_m2"], 0.0)
    j["gd_normal"] = j["periode"].str[-1].astype(int).map(NORMAL_GD_Q).astype(float)
    j["gd_actual"] = j["gd_normal"]
    j["w_pct"] = pd.to_numeric(j["varmeandel_vejruafhaengig_pct"]).fillna(W_SKOLE)
    for c in model.column_ids("kvartal")[3:]:
        j[c] = pd.to_numeric(j[c], errors="coerce").astype("float64")
    j["bruttoareal_m2"] = pd.to_numeric(j["bruttoareal_m2"], errors="coerce").astype("float64")
    j["varme_normaliseret_kwh"] = j["varme_kwh"] * ((100 - j["w_pct"]) * j["gd_normal"] / j["gd_actual"] + j["w_pct"]) / 100
    j["vindue"] = "kvartal"
    flows = ["varme_kwh", "el_kwh", "vand_m3", *model.COST_COLUMNS, "varme_normaliseret_kwh", "gd_actual", "gd_normal"]
    stocks = ["bruttoareal_m2", "tomt_areal_m2", "brugere", "tilstandsgrad", "indeklima", "efterslaeb_kr", "lejet_areal_m2"]
    years = []
    for p in PERIODS[3:]:
        window = [model.shift_period(p, -k) for k in range(4)]
        w = j[j["periode"].isin(window)]
        g = w.groupby(["kommunekode", "bygning_id"])
        complete = g["periode"].count() == 4
        agg = pd.concat(
            [g[c].sum(min_count=4).where(g[c].count() == 4) for c in flows]
            + [g[c].mean().where(g[c].count() == 4) for c in stocks], axis=1
        )[complete]
        meta = j[j["periode"] == p].set_index(["kommunekode", "bygning_id"])[
            ["ejendom_id", "navn", "kategori", "anvendelseskode", "opfoerelsesaar", "w_pct"]]
        agg = agg.join(meta, how="inner").reset_index()
        agg["periode"], agg["vindue"] = p, "loebende_aar"
        years.append(agg)
    cols = ["kommunekode", "bygning_id", "ejendom_id", "navn", "kategori", "anvendelseskode", "opfoerelsesaar",
            "periode", "vindue", "bruttoareal_m2", "tomt_areal_m2", "brugere", "varme_kwh", "el_kwh", "vand_m3",
            *model.COST_COLUMNS, "tilstandsgrad", "indeklima", "efterslaeb_kr", "lejet_areal_m2",
            "varme_normaliseret_kwh", "gd_actual", "gd_normal", "w_pct"]
    return pd.concat([j[cols], *(y[cols] for y in years)], ignore_index=True)


def store_from(path, byg: pd.DataFrame, kv: pd.DataFrame, extra_tables: dict | None = None) -> Store:
    """A store with one submission per municipality and quarter (no validation: tests may plant anything)."""
    store = Store(path)
    for (kommune, periode), b in byg.groupby(["kommunekode", "periode"]):
        k = kv[(kv["kommunekode"] == kommune) & (kv["periode"] == periode)]
        store.add_submission(int(kommune), str(periode), model.coerce_dtypes(b.drop(columns="periode"), "bygninger"),
                             model.coerce_dtypes(k, "kvartal"), "test")
    if extra_tables:
        store.replace_tables(extra_tables)
    return store


def mart_rows(rows: list[dict], defaults: dict | None = None) -> pd.DataFrame:
    """`noegletal` rows from short dicts; missing columns get the contract's neutral values."""
    base = {
        "periode": "2026Q2", "vindue": "loebende_aar", "niveau": "kommune", "kommunekode": None, "enhed": None,
        "kategori": None, "noegletal": None, "vaerdi": None, "taeller": None, "naevner": None,
        "antal_bygninger": 1, "median": None, "p10": None, "p90": None, "definitioner_version": "test",
        "udeladt": False, "udeladt_aarsag": None,
    }
    base.update(defaults or {})
    out = []
    for r in rows:
        row = {**base, **r}
        if row["vaerdi"] is None and row["taeller"] is not None and row["naevner"]:
            row["vaerdi"] = row["taeller"] / row["naevner"]
        if row["enhed"] is None and row["niveau"] == "kommune":
            row["enhed"] = str(row["kommunekode"])
        out.append(row)
    df = pd.DataFrame(out)
    for c in ("vaerdi", "taeller", "naevner", "median", "p10", "p90"):
        df[c] = pd.to_numeric(df[c]).astype("float64")
    df["kommunekode"] = df["kommunekode"].astype("Int64")
    df["udeladt"] = df["udeladt"].astype(bool)
    return df
