"""The key-figure engine on the hand-made fixture (tests/fixtures_mart.py).

Every key figure of the definitions sheet has hand-computed expectations at building, category and
municipality level in both windows (period 2026Q1). Building values of municipality 101 in the
quarter 2026Q1 (see the fixture's tables): costs A 82000 (rengøring 22000 that quarter), B 213000
(forsyning not reported), C 25500; A has 60 users that quarter. The rolling year 2026Q1 covers
2025Q2–2026Q1: flows are 4 × the quarter except A's cleaning (20000 + 24000 + 20000 + 22000 = 86000),
A's users average (40 + 50 + 50 + 60) / 4 = 50; C's water is missing in 2025Q2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from noegletal import compute, definitions, keyfigures
from noegletal.definitions import DEFAULT_PATH
from noegletal.store import Store
import fixtures_mart as fx

K, L = "kvartal", "loebende_aar"

# Degree-day corrected heat (kWh) of 101's buildings, Q * ((100 - w) * GDn / GDa + w) / 100:
QN_A_K = 30000 * (85 * 1449 / 1263 + 15) / 100  # = 33755.34 (w 15)
QN_B_K = 60000 * (75 * 1449 / 1263 + 25) / 100  # = 66627.08 (w 25, the building's own)
QN_C_K = 20000 * (80 * 1449 / 1263 + 20) / 100  # = 22356.29 (w 20)
QN_A_L = 120000 * (85 * 3112 / 2593.4 + 15) / 100  # = 140414.5
QN_B_L = 240000 * (75 * 3112 / 2593.4 + 25) / 100  # = 275988.0
QN_C_L = 80000 * (80 * 3112 / 2593.4 + 20) / 100  # = 92797.1

SKOLE, DAG = (101, "skole"), (101, "dagtilbud")
# key figure -> [(vindue, niveau, where, expected)]; where = bygning_id, (kommunekode, kategori) or
# kommunekode; expected None = no row (not reported, or not a level of the figure).
EXPECTED = {
    "areal_pr_indbygger": [
        (K, "kommune", 101, 4500 / 591481),  # (1000 + 3000 + 500) m² / population 101 (FOLK1A 2016)
        (K, "kommune", 147, 3000 / 104481),  # (2000 + 1000) / population 147
        (L, "kommune", 101, 4500 / 591481),
        (L, "kommune", 147, 1000 / 104481),  # only E: D has no rolling year
        (K, "bygning", "A", None),
        (K, "kategori", SKOLE, None),
    ],
    "areal_pr_bruger": [
        (K, "bygning", "A", 1000 / 60), (K, "bygning", "B", 3000 / 100), (K, "bygning", "C", None),  # C: no users
        (K, "kategori", SKOLE, 4000 / 160),  # (1000 + 3000) / (60 + 100) = 25
        (K, "kategori", DAG, None),
        (K, "kommune", 101, 4000 / 160),  # C has no value, so it is in neither sum
        (L, "bygning", "A", 1000 / 50), (L, "bygning", "B", 30.0),
        (L, "kategori", SKOLE, 4000 / 150),  # = 26.667
        (L, "kommune", 101, 4000 / 150),
    ],
    "tomgangsandel_pct": [
        (K, "bygning", "A", 10.0), (K, "bygning", "B", 0.0), (K, "bygning", "C", 10.0),  # 100 * 50 / 500
        (K, "kategori", SKOLE, 100 * 100 / 4000),  # = 2.5
        (K, "kategori", DAG, 10.0),
        (K, "kommune", 101, 100 * 150 / 4500),  # = 3.333
        (L, "bygning", "A", 10.0), (L, "kategori", SKOLE, 2.5), (L, "kommune", 101, 100 * 150 / 4500),
    ],
    "lejet_areal_andel_pct": [
        (K, "bygning", "A", 0.0), (K, "bygning", "B", 100.0), (K, "bygning", "C", 0.0),
        (K, "kategori", SKOLE, 100 * 3000 / 4000),  # = 75
        (K, "kategori", DAG, 0.0),
        (K, "kommune", 101, 100 * 3000 / 4500),  # = 66.667
        (L, "bygning", "B", 100.0), (L, "kategori", SKOLE, 75.0), (L, "kommune", 101, 100 * 3000 / 4500),
    ],
    "driftsudgift_pr_m2": [
        (K, "bygning", "A", 82.0),  # 22000 + 30000 + 15000 + 5000 + 8000 + 2000 = 82000 / 1000
        (K, "bygning", "B", 71.0),  # 45000 + 0 + 0 + 12000 + 6000 + 150000 = 213000 / 3000 (forsyning empty)
        (K, "bygning", "C", 51.0),  # 10000 + 8000 + 2000 + 2000 + 2000 + 1500 = 25500 / 500
        (K, "kategori", SKOLE, (82000 + 213000) / 4000),  # = 73.75
        (K, "kategori", DAG, 51.0),
        (K, "kommune", 101, (82000 + 213000 + 25500) / 4500),  # = 71.222 (mean of ratios would be 68)
        (L, "bygning", "A", 326.0),  # 86000 + 4 * 60000 = 326000 / 1000
        (L, "bygning", "B", 284.0),  # 4 * 213000 / 3000
        (L, "bygning", "C", 204.0),  # 4 * 25500 / 500
        (L, "kategori", SKOLE, (326000 + 852000) / 4000),  # = 294.5
        (L, "kategori", DAG, 204.0),
        (L, "kommune", 101, (326000 + 852000 + 102000) / 4500),  # = 284.444
    ],
    "rengoering_pr_m2": [
        (K, "bygning", "A", 22.0), (K, "bygning", "B", 15.0), (K, "bygning", "C", 20.0),
        (K, "kategori", SKOLE, (22000 + 45000) / 4000),  # = 16.75
        (K, "kategori", DAG, 20.0),
        (K, "kommune", 101, (22000 + 45000 + 10000) / 4500),  # = 17.111
        (L, "bygning", "A", 86.0), (L, "bygning", "B", 60.0), (L, "bygning", "C", 80.0),
        (L, "kategori", SKOLE, (86000 + 180000) / 4000),  # = 66.5
        (L, "kommune", 101, (86000 + 180000 + 40000) / 4500),  # = 68.0
    ],
    "forsyning_pr_m2": [
        (K, "bygning", "A", 30.0), (K, "bygning", "B", None), (K, "bygning", "C", 16.0),
        (K, "kategori", SKOLE, 30000 / 1000),  # B did not report it, so B's m² are not in the denominator
        (K, "kategori", DAG, 16.0),
        (K, "kommune", 101, (30000 + 8000) / (1000 + 500)),  # = 25.333
        (L, "bygning", "A", 120.0), (L, "bygning", "B", None),
        (L, "kategori", SKOLE, 120.0),
        (L, "kommune", 101, (120000 + 32000) / 1500),  # = 101.333
    ],
    "vedligehold_pr_m2": [
        (K, "bygning", "A", 20.0),  # (15000 + 5000) / 1000
        (K, "bygning", "B", 0.0),  # 0 + 0 reported: a real zero
        (K, "bygning", "C", 8.0),  # (2000 + 2000) / 500
        (K, "kategori", SKOLE, 20000 / 4000),  # = 5
        (K, "kategori", DAG, 8.0),
        (K, "kommune", 101, 24000 / 4500),  # = 5.333
        (L, "bygning", "A", 80.0), (L, "bygning", "C", 32.0),
        (L, "kategori", SKOLE, 80000 / 4000),  # = 20
        (L, "kommune", 101, 96000 / 4500),  # = 21.333
    ],
    "vedligehold_planlagt_pr_m2": [
        (K, "bygning", "A", 15.0), (K, "bygning", "B", 0.0), (K, "bygning", "C", 4.0),
        (K, "kategori", SKOLE, 15000 / 4000),  # = 3.75
        (K, "kategori", DAG, 4.0),
        (K, "kommune", 101, (15000 + 0 + 2000) / 4500),  # = 3.778
        (L, "bygning", "A", 60.0), (L, "kategori", SKOLE, 15.0),
        (L, "kommune", 101, 68000 / 4500),  # = 15.111
    ],
    "vedligehold_akut_pr_m2": [
        (K, "bygning", "A", 5.0), (K, "bygning", "B", 0.0), (K, "bygning", "C", 4.0),
        (K, "kategori", SKOLE, 5000 / 4000),  # = 1.25
        (K, "kategori", DAG, 4.0),
        (K, "kommune", 101, 7000 / 4500),  # = 1.556
        (L, "bygning", "C", 16.0), (L, "kategori", SKOLE, 5.0),
        (L, "kommune", 101, 28000 / 4500),  # = 6.222
    ],
    "teknisk_drift_pr_m2": [
        (K, "bygning", "A", 8.0), (K, "bygning", "B", 4.0), (K, "bygning", "C", 4.0),
        (K, "kategori", SKOLE, 20000 / 4000),  # = 5
        (K, "kategori", DAG, 4.0),
        (K, "kommune", 101, 22000 / 4500),  # = 4.889
        (L, "bygning", "B", 16.0), (L, "kategori", SKOLE, 20.0),
        (L, "kommune", 101, 88000 / 4500),  # = 19.556
    ],
    "administration_pr_m2": [
        (K, "bygning", "A", 2.0), (K, "bygning", "B", 2.0), (K, "bygning", "C", 3.0),
        (K, "kategori", SKOLE, 8000 / 4000),  # = 2
        (K, "kategori", DAG, 3.0),
        (K, "kommune", 101, 9500 / 4500),  # = 2.111
        (L, "bygning", "C", 12.0), (L, "kategori", SKOLE, 8.0),
        (L, "kommune", 101, 38000 / 4500),  # = 8.444
    ],
    "husleje_pr_m2": [
        (K, "bygning", "A", None), (K, "bygning", "B", 50.0), (K, "bygning", "C", None),
        (K, "kategori", SKOLE, 150000 / 3000),  # only B pays rent: 50
        (K, "kategori", DAG, None),
        (K, "kommune", 101, 50.0),
        (L, "bygning", "B", 200.0), (L, "kategori", SKOLE, 200.0), (L, "kommune", 101, 200.0),
    ],
    "akut_vedligehold_andel_pct": [
        (K, "bygning", "A", 25.0),  # 100 * 5000 / (15000 + 5000)
        (K, "bygning", "B", None),  # no maintenance at all: 0 / 0 has no value
        (K, "bygning", "C", 50.0),  # 100 * 2000 / 4000
        (K, "kategori", SKOLE, 25.0),
        (K, "kategori", DAG, 50.0),
        (K, "kommune", 101, 100 * 7000 / 24000),  # = 29.167
        (L, "bygning", "A", 25.0), (L, "bygning", "B", None), (L, "kommune", 101, 100 * 28000 / 96000),
    ],
    "driftsudgift_pr_bruger": [
        (K, "bygning", "A", 82000 / 60),  # = 1366.667
        (K, "bygning", "B", 2130.0), (K, "bygning", "C", None),  # C: users not reported
        (K, "kategori", SKOLE, 295000 / 160),  # = 1843.75
        (K, "kategori", DAG, None),
        (K, "kommune", 101, 295000 / 160),
        (L, "bygning", "A", 6520.0),  # 326000 / 50
        (L, "bygning", "B", 8520.0),
        (L, "kategori", SKOLE, 1178000 / 150),  # = 7853.333
        (L, "kommune", 101, 1178000 / 150),
    ],
    "varme_kwh_pr_m2": [
        (K, "bygning", "A", 30.0), (K, "bygning", "B", 20.0), (K, "bygning", "C", 40.0),
        (K, "kategori", SKOLE, 90000 / 4000),  # = 22.5
        (K, "kategori", DAG, 40.0),
        (K, "kommune", 101, 110000 / 4500),  # = 24.444
        (L, "bygning", "A", 120.0), (L, "kategori", SKOLE, 90.0), (L, "kategori", DAG, 160.0),
        (L, "kommune", 101, 440000 / 4500),  # = 97.778
    ],
    "varme_normaliseret_kwh_pr_m2": [
        (K, "bygning", "A", QN_A_K / 1000),  # = 33.755
        (K, "bygning", "B", QN_B_K / 3000),  # = 22.209
        (K, "bygning", "C", QN_C_K / 500),  # = 44.713
        (K, "kategori", SKOLE, (QN_A_K + QN_B_K) / 4000),  # = 25.096
        (K, "kategori", DAG, QN_C_K / 500),
        (K, "kommune", 101, (QN_A_K + QN_B_K + QN_C_K) / 4500),  # = 27.163
        (L, "bygning", "A", QN_A_L / 1000),  # = 140.41
        (L, "bygning", "B", QN_B_L / 3000),
        (L, "kategori", SKOLE, (QN_A_L + QN_B_L) / 4000),
        (L, "kommune", 101, (QN_A_L + QN_B_L + QN_C_L) / 4500),
    ],
    "el_kwh_pr_m2": [
        (K, "bygning", "A", 10.0), (K, "bygning", "B", 12.0), (K, "bygning", "C", None),
        (K, "kategori", SKOLE, 46000 / 4000),  # = 11.5
        (K, "kategori", DAG, None),
        (K, "kommune", 101, 46000 / 4000),
        (L, "bygning", "B", 48.0), (L, "kategori", SKOLE, 46.0), (L, "kommune", 101, 46.0),
    ],
    "energi_kwh_pr_m2": [
        (K, "bygning", "A", (QN_A_K + 10000) / 1000),  # = 43.755
        (K, "bygning", "B", (QN_B_K + 36000) / 3000),  # = 34.209
        (K, "bygning", "C", None),  # electricity not reported: heat + el needs both
        (K, "kategori", SKOLE, (QN_A_K + QN_B_K + 46000) / 4000),
        (K, "kategori", DAG, None),
        (K, "kommune", 101, (QN_A_K + QN_B_K + 46000) / 4000),
        (L, "bygning", "A", (QN_A_L + 40000) / 1000),
        (L, "kategori", SKOLE, (QN_A_L + QN_B_L + 184000) / 4000),
        (L, "kommune", 101, (QN_A_L + QN_B_L + 184000) / 4000),
    ],
    "vand_m3_pr_m2": [
        (K, "bygning", "A", 0.25), (K, "bygning", "B", 0.2), (K, "bygning", "C", 0.3),
        (K, "kategori", SKOLE, 850 / 4000),  # = 0.2125
        (K, "kategori", DAG, 0.3),
        (K, "kommune", 101, 1000 / 4500),  # = 0.2222
        (L, "bygning", "A", 1.0), (L, "bygning", "B", 0.8),
        (L, "bygning", "C", None),  # water missing in 2025Q2: not reported for the rolling year
        (L, "kategori", SKOLE, 3400 / 4000),  # = 0.85
        (L, "kategori", DAG, None),
        (L, "kommune", 101, 3400 / 4000),
    ],
    "tilstandsgrad": [
        (K, "bygning", "A", 2.0), (K, "bygning", "B", 3.0), (K, "bygning", "C", 4.0),
        (K, "kategori", SKOLE, (2 * 1000 + 3 * 3000) / 4000),  # = 2.75 (area-weighted)
        (K, "kategori", DAG, 4.0),
        (K, "kommune", 101, (2000 + 9000 + 2000) / 4500),  # = 2.889
        (L, "bygning", "B", 3.0), (L, "kategori", SKOLE, 2.75), (L, "kommune", 101, 13000 / 4500),
    ],
    "indeklima": [
        (K, "bygning", "A", 3.0), (K, "bygning", "B", 2.0), (K, "bygning", "C", 4.0),
        (K, "kategori", SKOLE, (3000 + 6000) / 4000),  # = 2.25
        (K, "kategori", DAG, 4.0),
        (K, "kommune", 101, (3000 + 6000 + 2000) / 4500),  # = 2.444
        (L, "bygning", "C", 4.0), (L, "kategori", SKOLE, 2.25), (L, "kommune", 101, 11000 / 4500),
    ],
    "efterslaeb_kr_pr_m2": [
        (K, "bygning", "A", 500.0), (K, "bygning", "B", None), (K, "bygning", "C", 200.0),
        (K, "kategori", SKOLE, 500000 / 1000),  # B not reported
        (K, "kategori", DAG, 200.0),
        (K, "kommune", 101, (500000 + 100000) / (1000 + 500)),  # = 400
        (L, "bygning", "A", 500.0), (L, "kategori", SKOLE, 500.0), (L, "kommune", 101, 400.0),
    ],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = fx.computed_store(tmp_path_factory.mktemp("mart") / "mart.duckdb")
    yield s
    s.close()


@pytest.fixture(scope="module")
def mart(store) -> pd.DataFrame:
    return store.table("noegletal")


@pytest.fixture(scope="module")
def facts(store) -> pd.DataFrame:
    return store.table("bygningsfakta")


def rows(mart, noegletal, niveau, where, vindue=K, periode="2026Q1") -> pd.DataFrame:
    m = mart[(mart["noegletal"] == noegletal) & (mart["niveau"] == niveau) & (mart["vindue"] == vindue)
             & (mart["periode"] == periode)]
    if niveau == "bygning":
        return m[m["enhed"] == where]
    if niveau == "kategori":
        return m[(m["kommunekode"] == where[0]) & (m["kategori"] == where[1])]
    if niveau == "kommune":
        return m[m["kommunekode"] == where]
    return m[(m["enhed"] == where[0]) & (m["kategori"].fillna("") == where[1])]


def test_every_key_figure_has_expectations():
    assert set(EXPECTED) == set(definitions.default().ids())


@pytest.mark.parametrize("noegletal", list(EXPECTED))
def test_key_figure(mart, noegletal):
    for vindue, niveau, where, expected in EXPECTED[noegletal]:
        found = rows(mart, noegletal, niveau, where, vindue)
        label = f"{noegletal} {vindue} {niveau} {where}"
        if expected is None:
            assert found.empty, label
            continue
        assert len(found) == 1, label
        r = found.iloc[0]
        assert r["vaerdi"] == pytest.approx(expected, rel=1e-12), label
        assert r["taeller"] / r["naevner"] == pytest.approx(expected, rel=1e-12), label


def test_building_rows_carry_numerator_and_denominator(mart):
    r = rows(mart, "driftsudgift_pr_m2", "bygning", "A").iloc[0]
    assert (r["taeller"], r["naevner"], r["kategori"], r["kommunekode"]) == (82000.0, 1000.0, "skole", 101)
    assert pd.isna(r["antal_bygninger"]) and pd.isna(r["median"])
    assert r["definitioner_version"] == definitions.default().version
    assert not r["udeladt"] and pd.isna(r["udeladt_aarsag"])


def test_mart_columns(store, mart):
    assert list(mart.columns) == keyfigures.MART_COLUMNS + keyfigures.INTERNAL_COLUMNS
    assert list(mart.columns[:15]) == [
        "periode", "vindue", "niveau", "kommunekode", "enhed", "kategori", "noegletal", "vaerdi", "taeller",
        "naevner", "antal_bygninger", "median", "p10", "p90", "definitioner_version",
    ]
    assert set(mart["niveau"]) == {"bygning", "kategori", "kommune", "gruppe", "alle"}
    assert (mart["definitioner_version"] == definitions.default().version).all()
    info = store.table("mart_info")
    assert info["definitioner_version"][0] == definitions.default().version
    assert str(info["data_pr"][0]) == "2026-05-20 09:00:00"


def test_ratio_of_sums_differs_from_mean_of_ratios(mart):
    value = rows(mart, "driftsudgift_pr_m2", "kommune", 101)["vaerdi"].iloc[0]
    assert value == pytest.approx(320500 / 4500)  # 71.222
    assert value != pytest.approx((82 + 71 + 51) / 3)  # 68.0, the mean of the building values


def test_group_quantiles_and_count(mart):
    r = rows(mart, "driftsudgift_pr_m2", "kommune", 101).iloc[0]
    # building values 51, 71, 82: median 71; p10 at h = 0.2: 51 + 0.2 * (71 - 51) = 55; p90 at h = 1.8: 71 + 0.8 * 11 = 79.8
    assert (r["antal_bygninger"], r["median"]) == (3, 71.0)
    assert r["p10"] == pytest.approx(55.0) and r["p90"] == pytest.approx(79.8)
    r = rows(mart, "driftsudgift_pr_m2", "kategori", SKOLE).iloc[0]
    # 71, 82: median 76.5, p10 71 + 0.1 * 11 = 72.1, p90 71 + 0.9 * 11 = 80.9
    assert r["antal_bygninger"] == 2
    assert (r["median"], r["p10"], r["p90"]) == pytest.approx((76.5, 72.1, 80.9))
    assert r["enhed"] == "skole"
    r = rows(mart, "driftsudgift_pr_m2", "kommune", 101).iloc[0]
    assert r["enhed"] == "101" and pd.isna(r["kategori"])


def test_gruppe_and_alle_rows(mart):
    # kvartal 2026Q1, all five buildings: values A 82, B 71, C 51, D 104000 / 2000 = 52, E 50000 / 1000 = 50
    for niveau, enhed in (("gruppe", "kommunegruppe_1"), ("alle", "alle")):
        r = rows(mart, "driftsudgift_pr_m2", niveau, (enhed, "")).iloc[0]
        assert pd.isna(r["kommunekode"]) and pd.isna(r["kategori"])
        assert r["vaerdi"] == pytest.approx((82000 + 213000 + 25500 + 104000 + 50000) / 7500)  # = 63.267
        assert r["antal_bygninger"] == 5
        # sorted 50, 51, 52, 71, 82: median 52, p10 50 + 0.4 * 1 = 50.4, p90 71 + 0.6 * 11 = 77.6
        assert (r["median"], r["p10"], r["p90"]) == pytest.approx((52.0, 50.4, 77.6))
        r = rows(mart, "driftsudgift_pr_m2", niveau, (enhed, "skole")).iloc[0]
        assert r["vaerdi"] == pytest.approx((82000 + 213000 + 104000) / 6000)  # = 66.5 (A, B, D)
        # sorted 52, 71, 82: median 71, p10 52 + 0.2 * 19 = 55.8, p90 71 + 0.8 * 11 = 79.8
        assert (r["antal_bygninger"], r["median"]) == (3, 71.0)
        assert (r["p10"], r["p90"]) == pytest.approx((55.8, 79.8))
        r = rows(mart, "driftsudgift_pr_m2", niveau, (enhed, "dagtilbud")).iloc[0]
        assert r["vaerdi"] == pytest.approx((25500 + 50000) / 1500)  # = 50.333 (C, E)
        assert (r["median"], r["p10"], r["p90"]) == pytest.approx((50.5, 50.1, 50.9))


def test_municipality_figure_groups_sum_over_municipalities(mart):
    a, b = 4500 / 591481, 3000 / 104481  # 101 and 147 in kvartal 2026Q1: 0.00761 < 0.02871
    for niveau, enhed in (("gruppe", "kommunegruppe_1"), ("alle", "alle")):
        r = rows(mart, "areal_pr_indbygger", niveau, (enhed, "")).iloc[0]
        assert r["vaerdi"] == pytest.approx(7500 / (591481 + 104481))
        assert r["antal_bygninger"] == 5
        # median etc. over the two municipality values
        assert r["median"] == pytest.approx((a + b) / 2)
        assert r["p10"] == pytest.approx(a + 0.1 * (b - a)) and r["p90"] == pytest.approx(a + 0.9 * (b - a))
        assert rows(mart, "areal_pr_indbygger", niveau, (enhed, "skole")).empty
    assert rows(mart, "areal_pr_indbygger", "kommune", 101)["antal_bygninger"].iloc[0] == 3


def test_rolling_year_needs_all_four_quarters(mart, facts):
    # D misses 2025Q3: in its quarters, not in any rolling year
    d = facts[facts["bygning_id"] == "D"]
    assert sorted(d.loc[d["vindue"] == K, "periode"]) == ["2025Q1", "2025Q2", "2025Q4", "2026Q1"]
    assert d[d["vindue"] == L].empty
    assert rows(mart, "driftsudgift_pr_m2", "bygning", "D")["vaerdi"].iloc[0] == 52.0
    assert rows(mart, "driftsudgift_pr_m2", "bygning", "D", vindue=L).empty
    # 147's rolling year 2026Q1 is E alone: 4 * 50000 / 1000
    r = rows(mart, "driftsudgift_pr_m2", "kommune", 147, vindue=L).iloc[0]
    assert (r["vaerdi"], r["antal_bygninger"]) == (200.0, 1)
    assert sorted(facts.loc[facts["vindue"] == L, "periode"].unique()) == ["2025Q4", "2026Q1"]


def test_rolling_year_sums_flows_and_averages_stocks(facts):
    a = facts[(facts["bygning_id"] == "A") & (facts["vindue"] == L)].set_index("periode")
    assert a.loc["2026Q1", "rengoering_kr"] == 86000  # 20000 + 24000 + 20000 + 22000
    assert a.loc["2026Q1", "brugere"] == 50  # (40 + 50 + 50 + 60) / 4
    assert a.loc["2025Q4", "rengoering_kr"] == 84000  # 20000 + 20000 + 24000 + 20000
    assert a.loc["2025Q4", "brugere"] == 47.5  # (50 + 40 + 50 + 50) / 4
    assert a.loc["2026Q1", "bruttoareal_m2"] == 1000 and a.loc["2026Q1", "husleje_kr"] != a.loc["2026Q1", "husleje_kr"]
    c = facts[(facts["bygning_id"] == "C")].set_index(["vindue", "periode"])
    assert c.loc[(K, "2026Q1"), "vand_m3"] == 150
    assert np.isnan(c.loc[(L, "2026Q1"), "vand_m3"])  # not reported in 2025Q2


@pytest.mark.parametrize("quarters", [1, 2, 3])
def test_fewer_than_four_quarters_in_all_give_no_rolling_year(tmp_path, quarters):
    # one building in one to three quarters: fewer rows in all than a rolling year spans
    one = fx.BUILDINGS[fx.BUILDINGS["bygning_id"] == "A"]
    with fx.make_store(tmp_path / "few.duckdb", periods=fx.PERIODS[:quarters], buildings=one,
                       kvartal=lambda p: fx.kvartal_rows(p).query("bygning_id == 'A'")) as store:
        f = keyfigures.building_facts(store, definitions.default())
    assert list(f["vindue"]) == [K] * quarters
    assert list(f["periode"]) == fx.PERIODS[:quarters]
    assert list(f["rengoering_kr"]) == [20000, 20000, 24000][:quarters]
    assert list(f["brugere"]) == [50, 40, 50][:quarters]


def test_facts_columns_and_degree_days(facts):
    numeric = keyfigures.fact_columns(definitions.default())
    assert list(facts.columns) == [*keyfigures.FACT_KEYS, *numeric, *keyfigures.ENERGY_COLUMNS, *keyfigures.INTERNAL_COLUMNS]
    assert {"varme_normaliseret_kwh", "lejet_areal_m2", "bruttoareal_m2", "husleje_kr"} <= set(numeric)
    f = facts.set_index(["bygning_id", "vindue", "periode"])
    assert f.loc[("A", K, "2026Q1"), "gd_actual"] == pytest.approx(1263)  # 519 + 0.8 * (486 + 444)
    assert f.loc[("A", K, "2026Q1"), "gd_normal"] == 1449
    assert f.loc[("A", L, "2026Q1"), "gd_actual"] == pytest.approx(2593.4)
    assert f.loc[("A", L, "2026Q1"), "gd_normal"] == 3112
    assert f.loc[("A", K, "2026Q1"), "w_pct"] == 15 and f.loc[("B", K, "2026Q1"), "w_pct"] == 25
    assert f.loc[("C", K, "2026Q1"), "w_pct"] == 20  # dagtilbud, from the given category
    assert f.loc[("A", K, "2026Q1"), "varme_normaliseret_kwh"] == pytest.approx(QN_A_K, rel=1e-12)
    assert f.loc[("A", K, "2025Q4"), "varme_normaliseret_kwh"] == pytest.approx(30000 * (85 * 1.25 + 15) / 100)
    assert f.loc[("B", K, "2026Q1"), "lejet_areal_m2"] == 3000 and f.loc[("A", K, "2026Q1"), "lejet_areal_m2"] == 0
    assert f.loc[("C", K, "2026Q1"), "kategori"] == "dagtilbud"  # given, overrides BBR 321 (administration)


def test_fejl_leaves_the_building_out_of_groups_of_windows_with_that_quarter(mart, store):
    # E has a fejl finding in 2025Q1
    r = rows(mart, "driftsudgift_pr_m2", "kommune", 147, periode="2025Q1").iloc[0]
    assert (r["vaerdi"], r["antal_bygninger"]) == (52.0, 1)  # D alone: 104000 / 2000
    e = rows(mart, "driftsudgift_pr_m2", "bygning", "E", periode="2025Q1").iloc[0]
    assert e["udeladt"] and e["udeladt_aarsag"] == "fejl i 2025Q1: enhed_1000 (varme_kwh)"
    assert e["vaerdi"] == 50.0  # the building row is kept
    # 2025Q2 does not include 2025Q1: E is back ((104000 + 50000) / 3000)
    r = rows(mart, "driftsudgift_pr_m2", "kommune", 147, periode="2025Q2").iloc[0]
    assert (r["vaerdi"], r["antal_bygninger"]) == (pytest.approx(154000 / 3000), 2)
    # the rolling year 2025Q4 includes 2025Q1: E out, D has no rolling year -> no group rows for 147
    e = rows(mart, "driftsudgift_pr_m2", "bygning", "E", vindue=L, periode="2025Q4").iloc[0]
    assert e["udeladt"]
    assert rows(mart, "driftsudgift_pr_m2", "kommune", 147, vindue=L, periode="2025Q4").empty
    grp = rows(mart, "driftsudgift_pr_m2", "alle", ("alle", ""), vindue=L, periode="2025Q4").iloc[0]
    assert grp["antal_bygninger"] == 3  # A, B, C
    # the rolling year 2026Q1 (2025Q2-2026Q1) does not include it
    e = rows(mart, "driftsudgift_pr_m2", "bygning", "E", vindue=L).iloc[0]
    assert not e["udeladt"]
    # an advarsel (A, 2025Q2) leaves nothing out
    assert rows(mart, "driftsudgift_pr_m2", "kommune", 101, periode="2025Q2")["antal_bygninger"].iloc[0] == 3
    # the findings are stored
    assert sorted(store.table("fund")["alvor"]) == ["advarsel", "fejl"]
    # group rows are never flagged
    assert not mart.loc[mart["niveau"] != "bygning", "udeladt"].any()


def test_missing_degree_days_is_an_error_naming_the_months(tmp_path):
    store = fx.make_store(tmp_path / "gd.duckdb", periods=["2026Q1", "2026Q2"],
                          kvartal=lambda p: fx.kvartal_rows("2026Q1").assign(periode=p))
    with store:
        with pytest.raises(keyfigures.KeyFigureError, match="2026-04, 2026-05, 2026-06.*noegletal graddage import"):
            compute.build(store, find_findings=fx.find_findings)


def test_missing_degree_days_without_heat_is_no_error(tmp_path):
    def no_heat_in_q2(p):
        kv = fx.kvartal_rows("2026Q1").assign(periode=p)
        return kv.assign(varme_kwh=None) if p == "2026Q2" else kv

    with fx.make_store(tmp_path / "gd.duckdb", periods=["2026Q1", "2026Q2"], kvartal=no_heat_in_q2) as store:
        tables = compute.build(store, find_findings=fx.find_findings)
    f = tables["bygningsfakta"]
    q2 = f[f["periode"] == "2026Q2"]
    assert q2["gd_actual"].isna().all() and q2["varme_normaliseret_kwh"].isna().all()
    assert q2["gd_normal"].eq(523).all()  # 311 + 154 + 58


def test_category_from_bbr_code(tmp_path):
    byg = fx.BUILDINGS.copy()
    byg.loc[byg["bygning_id"] == "A", "anvendelseskode"] = 999  # a valid code not in the BBR list
    byg.loc[byg["bygning_id"] == "B", "anvendelseskode"] = 321  # Bygning til kontor
    with fx.make_store(tmp_path / "bbr.duckdb", periods=["2026Q1"], buildings=byg) as store:
        f = keyfigures.building_facts(store, definitions.default()).set_index("bygning_id")
    assert f.loc["A", "kategori"] == "oevrige" and f.loc["A", "w_pct"] == 15  # oevrige's default w
    assert f.loc["B", "kategori"] == "administration" and f.loc["B", "w_pct"] == 25  # the building's own w
    assert f.loc["E", "kategori"] == "dagtilbud"


def test_newest_revision_is_used(tmp_path):
    with fx.make_store(tmp_path / "rev.duckdb", periods=["2026Q1"]) as store:
        kv = fx.kvartal_rows("2026Q1")
        kv = kv[kv["kommunekode"] == 101].copy()
        kv.loc[kv["bygning_id"] == "A", "rengoering_kr"] = 42000
        byg = fx.BUILDINGS[fx.BUILDINGS["kommunekode"] == 101]
        from noegletal import model

        assert store.add_submission(101, "2026Q1", model.coerce_dtypes(byg, "bygninger"),
                                    model.coerce_dtypes(kv, "kvartal"), "ny") == 2
        f = keyfigures.building_facts(store, definitions.default())
    a = f[(f["bygning_id"] == "A")]
    assert len(a) == 1 and a["rengoering_kr"].iloc[0] == 42000


def test_empty_database_is_a_clear_error(tmp_path):
    with Store(tmp_path / "empty.duckdb") as store:
        with pytest.raises(keyfigures.KeyFigureError, match="ingen indberetninger"):
            compute.build(store, find_findings=fx.find_findings)


def test_new_key_figure_from_the_sheet_needs_no_code(tmp_path):
    raw = yaml.safe_load(Path(str(DEFAULT_PATH)).read_text(encoding="utf-8"))
    raw["version"] = "test-ny"
    raw["noegletal"].append({
        "id": "vand_liter_pr_bruger", "navn_da": "Vand pr. bruger", "navn_en": "Water per user",
        "enhed_da": "liter pr. bruger", "enhed_en": "litres per user", "taeller": "1000 * vand_m3",
        "naevner": "brugere", "vindue": {"taeller": "flow", "naevner": "stock"}, "retning": "lavere_er_bedre",
        "niveauer": ["bygning", "kommune"],
    })
    path = tmp_path / "definitioner.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    defs = definitions.load(path)
    with fx.computed_store(tmp_path / "ny.duckdb", defs=defs) as store:
        mart = store.table("noegletal")
    new = mart[mart["noegletal"] == "vand_liter_pr_bruger"]
    assert rows(new, "vand_liter_pr_bruger", "bygning", "A")["vaerdi"].iloc[0] == pytest.approx(1000 * 250 / 60)
    # kommune 101: A and B (C has no users): 1000 * (250 + 600) / (60 + 100) = 5312.5
    assert rows(new, "vand_liter_pr_bruger", "kommune", 101)["vaerdi"].iloc[0] == pytest.approx(5312.5)
    assert set(new["niveau"]) == {"bygning", "kommune"}
    assert (mart["definitioner_version"] == "test-ny").all()


def test_municipality_figure_with_building_level_is_refused(tmp_path):
    raw = yaml.safe_load(Path(str(DEFAULT_PATH)).read_text(encoding="utf-8"))
    for k in raw["noegletal"]:
        if k["id"] == "areal_pr_indbygger":
            k["niveauer"] = ["bygning", "kommune"]
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with fx.make_store(tmp_path / "x.duckdb", periods=["2026Q1"]) as store:
        with pytest.raises(keyfigures.KeyFigureError, match="areal_pr_indbygger.*kommune, gruppe og alle"):
            compute.build(store, find_findings=fx.find_findings, defs=definitions.load(path))


def test_sort_order_is_exact():
    """The integer-packed sort puts values in exact order, also neighbours one bit apart, negatives, and
    whole numbers (whose bits all fit in the key) next to values one bit below or above them."""
    rng = np.random.default_rng(3)
    base = rng.normal(0, 100, 20000)
    near = np.nextafter(base[:5000], np.inf)  # differ only in the last bit: ties after packing
    whole = rng.integers(1, 6, 3000).astype(float)
    beside = np.nextafter(whole[:500], np.where(rng.random(500) < 0.5, np.inf, -np.inf))
    v = np.concatenate([base, near, whole, beside, np.zeros(10), -np.zeros(10), base[:100], [1e300, -1e300, 5e-324]])
    rng.shuffle(v)
    order, v_sorted = keyfigures._sort_order(v)
    assert sorted(order) == list(range(len(v)))
    np.testing.assert_array_equal(v[order], np.sort(v))
    np.testing.assert_array_equal(v_sorted, np.sort(v))


def test_sort_order_by_group_is_exact():
    """Sorted by group first, then by exact value: near-equal values lose their last bits to the group
    bits, and a group's largest value may be above the next group's smallest."""
    rng = np.random.default_rng(4)
    base = rng.normal(0, 100, 20000)
    v = np.concatenate([base, np.nextafter(base[:5000], np.inf), np.nextafter(base[:5000], -np.inf), -np.zeros(5)])
    group = rng.integers(0, 80, len(v))
    order, v_sorted = keyfigures._sort_order(v, group, 80)
    assert sorted(order) == list(range(len(v)))
    expected = np.lexsort((v, group))
    np.testing.assert_array_equal(group[order], group[expected])
    np.testing.assert_array_equal(v[order], v[expected])
    np.testing.assert_array_equal(v_sorted, v[expected])


def test_group_stats_match_pandas_quantiles():
    """The integer-sort quantiles equal pandas' linear quantiles, also with ties and negative values."""
    rng = np.random.default_rng(7)
    n = 5000
    layout = keyfigures.Layout(t_min=8000, n_periods=3, kommuner=np.array([101, 147, 151]), gruppe=np.array([1, 1, 2]))
    taeller = np.round(rng.normal(100, 50, n), 1)  # rounding makes ties
    slot, kommune, kategori = rng.integers(0, layout.n_slots, n), rng.integers(0, 3, n), rng.integers(0, 9, n)
    units = keyfigures.Units(fine=layout.fine(slot, kommune, kategori), taeller=taeller, naevner=np.full(n, 2.0),
                             antal=None)
    df = pd.DataFrame({"slot": slot, "kommune": kommune, "gruppe": layout.gruppe[kommune],
                       "kategori": kategori, "t": taeller, "v": taeller / 2})
    stats = keyfigures._group_stats(units, layout, keyfigures.GROUP_SPECS)
    for (niveau, unit, by_kat), got in zip(keyfigures.GROUP_SPECS, stats):
        by = ["slot"] + ({"kommune": ["kommune"], "gruppe": ["gruppe"], None: []}[unit]) + (["kategori"] if by_kat else [])
        expected = df.groupby(by)["v"].quantile([0.1, 0.5, 0.9]).unstack()
        sums = df.groupby(by)["t"].agg(["sum", "count"])
        base = got["base"] if unit else np.zeros(len(got["slot"]), dtype=int)
        keys = list(zip(got["slot"], *([base] if unit else []), *([got["kategori"]] if by_kat else [])))
        assert len(keys) == len(expected)
        exp = expected.loc[keys if len(by) > 1 else [k[0] for k in keys]]
        np.testing.assert_allclose(got["p10"], exp[0.1], rtol=1e-12)
        np.testing.assert_allclose(got["median"], exp[0.5], rtol=1e-12)
        np.testing.assert_allclose(got["p90"], exp[0.9], rtol=1e-12)
        s = sums.loc[keys if len(by) > 1 else [k[0] for k in keys]]
        np.testing.assert_allclose(got["taeller"], s["sum"], rtol=1e-12)
        np.testing.assert_array_equal(got["antal_bygninger"], s["count"])


def test_naive_implementation_agrees(store, mart):
    """bench/naive_compute.py (the benchmark's baseline) gives the same mart on the fixture."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    try:
        import naive_compute
    finally:
        sys.path.pop(0)
    naive = naive_compute.compute(store, fx.FINDINGS)
    keys = ["periode", "vindue", "niveau", "kommunekode", "enhed", "kategori", "noegletal"]
    engine = mart.copy()
    for d in (naive, engine):
        d["kommunekode"] = d["kommunekode"].astype("Int64")
        d["kategori"] = d["kategori"].astype(object).where(d["kategori"].notna(), "")
    both = engine.merge(naive, on=keys, how="outer", suffixes=("", "_naive"), indicator=True)
    assert (both["_merge"] == "both").all(), both.loc[both["_merge"] != "both", keys]
    for c in ("vaerdi", "taeller", "naevner", "median", "p10", "p90"):
        np.testing.assert_allclose(both[c].astype(float), both[c + "_naive"].astype(float), rtol=1e-12, err_msg=c)
    np.testing.assert_array_equal(both["antal_bygninger"].astype(float), both["antal_bygninger_naive"].astype(float))
    assert (both["udeladt"] == both["udeladt_naive"]).all()


def test_compute_command(tmp_path):
    from rich.console import Console

    out, err = Console(record=True, width=200), Console(record=True, width=200)
    with Store(tmp_path / "empty.duckdb") as s:
        assert compute.run(s, out, err) == 1
    assert "ingen indberetninger" in err.export_text(clear=False)
    path = tmp_path / "fx.duckdb"
    fx.make_store(path).close()
    with Store(path) as s:
        assert compute.run(s, out, err) == 0  # with the real quality checks
        assert s.has_table("noegletal") and s.has_table("fund") and s.has_table("bygningsfakta")
    text = out.export_text(clear=False)
    assert "5 kvartaler (2025Q1–2026Q1)" in text and "grupperækker" in text


def test_recompute_replaces_everything(tmp_path):
    path = tmp_path / "twice.duckdb"
    with fx.computed_store(path) as s:
        first = s.table("noegletal")
        compute.save(s, compute.build(s, find_findings=fx.find_findings))
        again = s.table("noegletal")
    pd.testing.assert_frame_equal(first, again)


def test_mart_view_replaces_a_table_of_the_same_name_and_back(tmp_path):
    """store.replace_tables(views=...) turns an old table `noegletal` into the view (and back)."""
    with fx.make_store(tmp_path / "kind.duckdb", periods=["2026Q1"]) as s:
        s.replace_tables({"noegletal": pd.DataFrame({"periode": ["2026Q1"]})})  # e.g. a stand-in
        compute.save(s, compute.build(s, find_findings=fx.find_findings))
        kinds = s.query("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'main'")
        assert dict(zip(kinds["table_name"], kinds["table_type"]))["noegletal"] == "VIEW"
        assert len(s.table("noegletal")) > 100
        s.replace_tables({"noegletal": pd.DataFrame({"periode": ["2026Q1"]})})
        assert len(s.table("noegletal")) == 1


def test_group_medians_equal_pandas_bit_for_bit():
    """Medians per group as pandas' groupby median gives them: NaN left out, the mean of the two middle
    values for an even count, NaN for a group without values (group 5 here)."""
    rng = np.random.default_rng(11)
    x = np.round(rng.lognormal(3, 1, 30000), 2)  # ties
    x[rng.random(len(x)) < 0.1] = np.nan
    group = rng.integers(0, 7, len(x))
    group[group == 5] = 4
    x[group == 6] = np.nan
    expected = pd.Series(x).groupby(pd.Categorical.from_codes(group, categories=range(8)), observed=False).median()
    got = keyfigures.group_medians(x, group, 8)
    np.testing.assert_array_equal(got, expected.to_numpy())
    assert np.isnan(got[[5, 6, 7]]).all()
    small = keyfigures.group_medians(np.array([4.0, 1.0, 2.0, np.nan, 10.0, 7.0, 3.0]), np.array([0, 0, 0, 0, 1, 1, 1]), 2)
    np.testing.assert_array_equal(small, [2.0, 7.0])


def test_group_median_and_mad_equal_pandas_bit_for_bit():
    """Count, median and median absolute deviation per group, as pandas gives them: groups of one and
    two values, ties, values all on one side of the median, and a group without values (3)."""
    rng = np.random.default_rng(12)
    x = np.log(np.round(rng.lognormal(3, 1, 40000), 1))  # ties, negative and positive
    group = rng.integers(0, 200, len(x))
    group[group == 3] = 4
    x[:5], group[:5] = [7.0, 1.0, 2.0, 5.0, 5.0], [201, 202, 202, 203, 203]
    series = pd.Series(x).groupby(pd.Categorical.from_codes(group, categories=range(205)), observed=False)
    median = series.median()
    mad = (pd.Series(x) - median.to_numpy()[group]).abs().groupby(
        pd.Categorical.from_codes(group, categories=range(205)), observed=False).median()
    count, got_median, got_mad = keyfigures.group_median_and_mad(x, group, 205)
    np.testing.assert_array_equal(count, series.count().to_numpy())
    np.testing.assert_array_equal(got_median, median.to_numpy())
    np.testing.assert_array_equal(got_mad, mad.to_numpy())
    assert np.isnan(got_mad[[3, 204]]).all() and got_mad[201] == 0 and got_mad[202] == 0.5 and got_mad[203] == 0
    # by hand: 1, 2, 4, 10, 11 -> median 4, deviations 3, 2, 0, 6, 7 -> 3
    small = keyfigures.group_median_and_mad(np.array([10.0, 1.0, 4.0, 11.0, 2.0]), np.zeros(5, dtype=np.int64), 1)
    assert [a[0] for a in small] == [5, 4.0, 3.0]
