"""Scenarios: area reduction and closing buildings, with hand-computed before/after figures.

Municipality 101, one rolling year (amounts are annual, kr.):

| bygning | m²    | brugere | rengøring | forsyning | vedl. plan | vedl. akut | tekn. drift | adm.   | husleje |
|---------|-------|---------|-----------|-----------|------------|------------|-------------|--------|---------|
| B1      | 2.000 | 400     | 200.000   | 300.000   | 100.000    | 40.000     | 60.000      | 30.000 | –       |
| B2      | 1.000 | 150     | 100.000   | 150.000   | 50.000     | 20.000     | 30.000      | 15.000 | –       |
| B3      | 500   | –       | 60.000    | 70.000    | –          | 10.000     | 20.000      | 5.000  | 400.000 |

Operating cost 1.660.000 kr. on 3.500 m²; m² per user over the buildings that report users:
3.000 / 550.
"""

import numpy as np
import pandas as pd
import pytest

from noegletal import scenarios

COLS = ["bygning_id", "navn", "kategori", "bruttoareal_m2", "brugere", "rengoering_kr", "forsyning_kr",
        "vedligehold_planlagt_kr", "vedligehold_akut_kr", "teknisk_drift_kr", "administration_kr", "husleje_kr",
        "varme_kwh", "el_kwh", "vand_m3"]
NA = np.nan


def facts() -> pd.DataFrame:
    rows = [
        ("B1", "Nørreskolen", "skole", 2000, 400, 200e3, 300e3, 100e3, 40e3, 60e3, 30e3, NA, 240e3, 60e3, 600),
        ("B2", "Sønderskolen", "skole", 1000, 150, 100e3, 150e3, 50e3, 20e3, 30e3, 15e3, NA, 120e3, 30e3, 300),
        ("B3", "Børnehuset", "dagtilbud", 500, NA, 60e3, 70e3, NA, 10e3, 20e3, 5e3, 400e3, 80e3, 20e3, NA),
        ("X1", "Fremmed skole", "skole", 900, 100, 1, 1, 1, 1, 1, 1, NA, 1, 1, 1),
    ]
    df = pd.DataFrame(rows, columns=COLS)
    df["kommunekode"] = [101, 101, 101, 147]
    df["periode"], df["vindue"] = "2026Q2", "loebende_aar"
    return df


def table(result: pd.DataFrame, enhed: str = "i_alt") -> pd.DataFrame:
    return result[result["enhed"] == enhed].set_index("maal")


def test_area_reduction_scales_area_related_costs_only():
    r = scenarios.reduce_area(facts(), 101, 10)
    assert list(r.columns) == scenarios.OUTPUT_COLUMNS
    t = table(r)
    assert (t.loc["bruttoareal_m2", "foer"], t.loc["bruttoareal_m2", "efter"]) == (3500, pytest.approx(3150))
    assert t.loc["brugere", "efter"] == 550
    assert t.loc["m2_pr_bruger", "foer"] == pytest.approx(3000 / 550)
    assert t.loc["m2_pr_bruger", "efter"] == pytest.approx(2700 / 550)
    # area-related: 1.210.000 → 1.089.000; administration 50.000 and rent 400.000 stay
    assert t.loc["driftsudgift_kr", "foer"] == pytest.approx(1_660_000)
    assert t.loc["driftsudgift_kr", "efter"] == pytest.approx(1_539_000)
    assert t.loc["driftsudgift_kr", "aendring"] == pytest.approx(-121_000)
    assert t.loc["rengoering_kr", "aendring_pct"] == pytest.approx(-10)
    assert t.loc["administration_kr", "aendring"] == 0 and t.loc["husleje_kr", "aendring"] == 0
    assert t.loc["driftsudgift_pr_m2", "efter"] == pytest.approx(1_539_000 / 3150)
    assert t.loc["varme_kwh", "efter"] == pytest.approx(0.9 * 440e3)
    assert t.loc["vand_m3", "efter"] == pytest.approx(0.9 * 900)


def test_area_reduction_of_one_category():
    t = table(scenarios.reduce_area(facts(), 101, 5, kategori="dagtilbud"))
    assert (t.loc["bruttoareal_m2", "foer"], t.loc["bruttoareal_m2", "efter"]) == (500, pytest.approx(475))
    assert t.loc["driftsudgift_kr", "aendring"] == pytest.approx(-0.05 * 160_000)
    assert np.isnan(t.loc["m2_pr_bruger", "foer"])  # the day care reports no users


def test_closing_a_school_moves_its_pupils():
    r = scenarios.close_buildings(facts(), 101, ["B2"], "B1")
    t = table(r)
    assert (t.loc["bruttoareal_m2", "foer"], t.loc["bruttoareal_m2", "efter"]) == (3500, 2500)
    assert t.loc["brugere", "efter"] == 550
    assert t.loc["m2_pr_bruger", "efter"] == pytest.approx(2000 / 550)
    # B2's area-related costs (350.000) go; its administration (15.000) stays
    assert t.loc["driftsudgift_kr", "efter"] == pytest.approx(1_310_000)
    assert t.loc["administration_kr", "aendring"] == 0
    assert t.loc["driftsudgift_pr_m2", "efter"] == pytest.approx(1_310_000 / 2500)
    assert t.loc["el_kwh", "efter"] == pytest.approx(80e3)
    receiver = table(r, "B1")
    assert list(receiver.index) == ["bruttoareal_m2", "brugere", "m2_pr_bruger"]
    assert (receiver.loc["brugere", "foer"], receiver.loc["brugere", "efter"]) == (400, 550)
    assert (receiver.loc["m2_pr_bruger", "foer"], receiver.loc["m2_pr_bruger", "efter"]) == (5, pytest.approx(2000 / 550))
    assert r.loc[r["enhed"] == "B1", "navn"].iloc[0] == "Nørreskolen (B1) (modtager)"
    closed = table(r, "B2")
    assert (closed.loc["bruttoareal_m2", "efter"], closed.loc["brugere", "efter"]) == (0, 0)
    assert np.isnan(closed.loc["m2_pr_bruger", "efter"])


def test_closing_a_rented_building_ends_the_rent():
    t = table(scenarios.close_buildings(facts(), 101, "B3", "B1"))
    assert t.loc["husleje_kr", "efter"] == 0
    assert t.loc["driftsudgift_kr", "efter"] == pytest.approx(1_660_000 - 160_000 - 400_000)
    assert t.loc["brugere", "efter"] == 550  # B3 reported no users: nobody to move


def test_closing_two_buildings_into_different_receivers():
    r = scenarios.close_buildings(facts(), 101, ["B2", "B3"], {"B2": "B1", "B3": "B1"})
    assert table(r)["efter"]["bruttoareal_m2"] == 2000
    assert set(r["enhed"]) == {"i_alt", "B1", "B2", "B3"}


@pytest.mark.parametrize("call, message", [
    (lambda f: scenarios.close_buildings(f, 101, ["B7"], "B1"), "B7, som lukkes, findes ikke"),
    (lambda f: scenarios.close_buildings(f, 101, ["X1"], "B1"), "X1, som lukkes, hører til kommune 147"),
    (lambda f: scenarios.close_buildings(f, 101, ["B2"], "X1"), "X1, som modtager brugerne, hører til kommune 147"),
    (lambda f: scenarios.close_buildings(f, 101, ["B2", "B1"], "B1"), "både lukkes og modtage"),
    (lambda f: scenarios.close_buildings(f, 101, [], "B1"), "mindst én bygning"),
    (lambda f: scenarios.close_buildings(f, 101, ["B2", "B3"], {"B2": "B1"}), "Ingen modtagende bygning for: B3"),
    (lambda f: scenarios.reduce_area(f, 101, 0), "mellem 0 og 100"),
    (lambda f: scenarios.reduce_area(f, 101, 100), "mellem 0 og 100"),
    (lambda f: scenarios.reduce_area(f, 101, "10"), "mellem 0 og 100"),
    (lambda f: scenarios.reduce_area(f, 101, 10, kategori="hal"), "Ukendt kategori 'hal'"),
    (lambda f: scenarios.reduce_area(f, 101, 10, kategori="idraet"), "ingen bygninger i kategorien idraet"),
    (lambda f: scenarios.reduce_area(f, 860, 10), "ingen bygninger for kommune 860"),
    (lambda f: scenarios.reduce_area(pd.concat([f, f.assign(periode="2026Q1")]), 101, 10), "ét kvartal"),
])
def test_clear_errors(call, message):
    with pytest.raises(scenarios.ScenarioError, match=message):
        call(facts())
