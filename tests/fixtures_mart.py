"""A small hand-made database for the key-figure engine tests (test_keyfigures, test_export, test_api).

Two municipalities in kommunegruppe 1 (101 København, 147 Frederiksberg), five buildings, five
quarters 2025Q1–2026Q1. Values are the same every quarter unless listed in OVERRIDES, so a rolling
year's flows are four times the quarter and its stocks equal the quarter. The expected numbers in
the tests are computed by hand from the tables below.

| building | kommune | category (how)            | m²   | owned  | w (%)           |
|----------|---------|---------------------------|------|--------|-----------------|
| A        | 101     | skole (BBR 421)           | 1000 | ejet   | 15 (skole)      |
| B        | 101     | skole (BBR 421)           | 3000 | lejet  | 25 (own value)  |
| C        | 101     | dagtilbud (given, BBR 321)| 500  | ejet   | 20 (dagtilbud)  |
| D        | 147     | skole (BBR 421)           | 2000 | ejet   | 15 (skole)      |
| E        | 147     | dagtilbud (BBR 441)       | 1000 | ejet   | 20 (dagtilbud)  |

D has no submission row in 2025Q3 (so no rolling year at all); E has a blocking finding (`fejl`) in
2025Q1 (FINDINGS), so it is left out of the groups of kvartal 2025Q1 and loebende_aar 2025Q4.

Degree days: every month 0.8 × the normal year, except January 2026 = normal (519). So
kvartal 2026Q1: GD_actual = 519 + 0.8 × (486 + 444) = 1263, GD_normal = 1449;
loebende_aar 2026Q1 (2025-04 … 2026-03): GD_actual = 0.8 × (523 + 131 + 1009) + 1263 = 2593.4, GD_normal = 3112.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from noegletal import model
from noegletal.store import Store

PERIODS = ["2025Q1", "2025Q2", "2025Q3", "2025Q4", "2026Q1"]

BUILDINGS = pd.DataFrame(
    [
        (101, "A", "EA", "Skole A", 421, None, 1962, 1000.0, "ejet", None),
        (101, "B", "EB", "Skole B", 421, None, 1975, 3000.0, "lejet", 25.0),
        (101, "C", "EC", "Børnehus C", 321, "dagtilbud", None, 500.0, "ejet", None),
        (147, "D", "ED", "Skole D", 421, None, 1930, 2000.0, "ejet", None),
        (147, "E", "EE", "Vuggestue E", 441, None, 2001, 1000.0, "ejet", None),
    ],
    columns=model.column_ids("bygninger"),
)

N = None  # not reported
COLUMNS = [
    "tomt_areal_m2", "brugere", "varme_kwh", "el_kwh", "vand_m3", "rengoering_kr", "forsyning_kr",
    "vedligehold_planlagt_kr", "vedligehold_akut_kr", "teknisk_drift_kr", "administration_kr", "husleje_kr",
    "tilstandsgrad", "indeklima", "efterslaeb_kr",
]
# one quarter's values per building, in the order of COLUMNS
QUARTER = {
    "A": (100, 50, 30000, 10000, 250, 20000, 30000, 15000, 5000, 8000, 2000, N, 2, 3, 500000),
    "B": (0, 100, 60000, 36000, 600, 45000, N, 0, 0, 12000, 6000, 150000, 3, 2, N),
    "C": (50, N, 20000, N, 150, 10000, 8000, 2000, 2000, 2000, 1500, N, 4, 4, 100000),
    "D": (200, 80, 40000, 16000, 400, 30000, 40000, 10000, 10000, 10000, 4000, N, 3, 3, 800000),
    "E": (0, 40, 25000, 8000, 200, 15000, 20000, 4000, 6000, 3000, 2000, N, 2, 2, 200000),
}
OVERRIDES = {
    ("A", "2025Q2", "brugere"): 40,
    ("A", "2026Q1", "brugere"): 60,
    ("A", "2025Q3", "rengoering_kr"): 24000,
    ("A", "2026Q1", "rengoering_kr"): 22000,
    ("C", "2025Q2", "vand_m3"): N,
}
MISSING = {("D", "2025Q3")}

FINDINGS = pd.DataFrame([{
    "periode": "2025Q1", "kommunekode": 147, "bygning_id": "E", "navn": "Vuggestue E", "kategori": "dagtilbud",
    "kolonne": "varme_kwh", "vaerdi": 25.0, "regel": "enhed_1000", "alvor": "fejl",
    "forklaring": "Varmeforbruget ser ud til at være i MWh.", "noegletal": None,
}, {
    "periode": "2025Q2", "kommunekode": 101, "bygning_id": "A", "navn": "Skole A", "kategori": "skole",
    "kolonne": "brugere", "vaerdi": 40.0, "regel": "spring", "alvor": "advarsel",
    "forklaring": "Færre brugere end før.", "noegletal": None,
}])


def degree_days() -> pd.DataFrame:
    normal = {1: 519, 2: 486, 3: 444, 4: 311, 5: 154, 6: 58, 7: 22, 8: 18, 9: 91, 10: 207, 11: 341, 12: 461}
    rows = [(2025, m, 0.8 * g) for m, g in normal.items()]
    rows += [(2026, 1, 519.0), (2026, 2, 0.8 * 486), (2026, 3, 0.8 * 444)]
    return pd.DataFrame(rows, columns=["aar", "maaned", "graddage"])


def kvartal_rows(periode: str) -> pd.DataFrame:
    rows = []
    for _, b in BUILDINGS.iterrows():
        if (b["bygning_id"], periode) in MISSING:
            continue
        values = dict(zip(COLUMNS, QUARTER[b["bygning_id"]]))
        for (bid, p, col), v in OVERRIDES.items():
            if bid == b["bygning_id"] and p == periode:
                values[col] = v
        rows.append({"kommunekode": b["kommunekode"], "bygning_id": b["bygning_id"], "periode": periode, **values})
    return pd.DataFrame(rows, columns=model.column_ids("kvartal"))


def find_findings(store, facts, defs) -> pd.DataFrame:
    """Stands in for noegletal.quality.find: the hand-made FINDINGS."""
    return FINDINGS.copy()


def make_store(path, periods=PERIODS, buildings: pd.DataFrame | None = None, kvartal=kvartal_rows) -> Store:
    """A store with one submission per municipality and quarter (no validation) and the degree days."""
    store = Store(path)
    store.upsert_degree_days(degree_days(), serie="import")
    byg_all = BUILDINGS if buildings is None else buildings
    for periode in periods:
        kv_all = kvartal(periode)
        for kode in sorted(byg_all["kommunekode"].unique()):
            byg = byg_all[byg_all["kommunekode"] == kode]
            kv = kv_all[kv_all["kommunekode"] == kode]
            byg = byg[byg["bygning_id"].isin(kv["bygning_id"])]
            store.add_submission(
                int(kode), periode, model.coerce_dtypes(byg, "bygninger"), model.coerce_dtypes(kv, "kvartal"),
                f"test/{kode}/{periode}", ingested_at=dt.datetime(2026, 5, 20, 9, 0),
            )
    return store


def computed_store(path, defs=None) -> Store:
    """The fixture store with the mart computed (hand-made findings instead of the quality checks)."""
    from noegletal import compute

    store = make_store(path)
    compute.save(store, compute.build(store, find_findings=find_findings, defs=defs), defs)
    return store
