"""Degree-day correction against hand calculations (DESIGN.md, "Degree-day correction")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from noegletal import energy
from noegletal.energy import normalise_heat, window_degree_days
from noegletal.store import Store


def test_published_formula_by_hand():
    # Q = 1000, w = 20, GDn = 1000, GDa = 800: 1000 * ((80 * 1.25) + 20) / 100 = 1200
    assert normalise_heat(1000, 800, 1000, 20) == pytest.approx(1200.0)
    # a warm year is corrected up, a cold year down: GDa = 1250 -> 1000 * (80 * 0.8 + 20) / 100 = 840
    assert normalise_heat(1000, 1250, 1000, 20) == pytest.approx(840.0)
    # w = 100: all heat is hot water, nothing to correct
    assert normalise_heat(1000, 500, 1000, 100) == pytest.approx(1000.0)
    # w = 0: heat scales with degree days: 1000 * 3112 / 2593.4 = 1199.97
    assert normalise_heat(1000, 2593.4, 3112, 0) == pytest.approx(1000 * 3112 / 2593.4)
    # the actual year equals the normal year: unchanged
    assert normalise_heat(4321.5, 3112, 3112, 15) == pytest.approx(4321.5)


def test_scalar_in_float_out():
    out = normalise_heat(1000, 800, 1000, 20)
    assert isinstance(out, float)


def test_arrays_broadcast():
    out = normalise_heat(np.array([1000.0, 2000.0, 500.0]), 800, 1000, np.array([20, 0, 100]))
    # 1200; 2000 * 1.25 = 2500; 500 (w = 100)
    np.testing.assert_allclose(out, [1200.0, 2500.0, 500.0])
    assert isinstance(out, np.ndarray)


def test_series_keep_their_index_and_missing_gives_nan():
    heat = pd.Series([1000.0, None, 3000.0], index=["a", "b", "c"], dtype="Float64")
    out = normalise_heat(heat, pd.Series([800.0, 800.0, np.nan], index=heat.index), 1000, 20)
    assert list(out.index) == ["a", "b", "c"]
    assert out["a"] == pytest.approx(1200.0)
    assert np.isnan(out["b"])  # heat not reported
    assert np.isnan(out["c"])  # degree days unknown
    assert np.isnan(normalise_heat(None, 800, 1000, 20))
    assert np.isnan(normalise_heat(1000, 800, 1000, None))
    assert np.isnan(normalise_heat(pd.NA, 800, 1000, 20))


def test_zero_degree_days_is_an_error_only_with_heat():
    with pytest.raises(ValueError, match="større end 0"):
        normalise_heat(1000, 0, 1000, 20)
    with pytest.raises(ValueError, match="større end 0"):
        normalise_heat(np.array([1.0, 2.0]), np.array([800.0, -5.0]), 1000, 20)
    # no heat reported: nothing to correct, no error
    assert np.isnan(normalise_heat(None, 0, 1000, 20))
    assert np.isnan(normalise_heat(np.array([np.nan]), np.array([0.0]), 1000, 20)[0])


def test_w_outside_0_100_is_an_error():
    with pytest.raises(ValueError, match="mellem 0 og 100"):
        normalise_heat(1000, 800, 1000, 120)


def test_window_degree_days_sum_the_months():
    actual = pd.DataFrame({
        "aar": [2025] * 12 + [2026] * 3,
        "maaned": list(range(1, 13)) + [1, 2, 3],
        "graddage": [500.0, 400, 300, 200, 100, 50, 10, 10, 80, 200, 300, 450, 520, 480, 420],
    })
    gd = window_degree_days(actual, ["2026Q1"]).set_index("vindue")
    # kvartal 2026Q1: 520 + 480 + 420 = 1420; normal 519 + 486 + 444 = 1449
    assert gd.loc["kvartal", "gd_actual"] == 1420 and gd.loc["kvartal", "gd_normal"] == 1449
    # loebende_aar 2026Q1 = 2025-04 ... 2026-03: 200+100+50+10+10+80+200+300+450 + 1420 = 2820; normal 3112
    assert gd.loc["loebende_aar", "gd_actual"] == 2820 and gd.loc["loebende_aar", "gd_normal"] == 3112
    assert (gd["mangler"] == "").all()


def test_window_months():
    assert energy.window_months("2026Q1", "kvartal") == [(2026, 1), (2026, 2), (2026, 3)]
    months = energy.window_months("2026Q1", "loebende_aar")
    assert months[0] == (2025, 4) and months[-1] == (2026, 3) and len(months) == 12


def test_missing_month_is_named():
    actual = pd.DataFrame({"aar": [2026, 2026], "maaned": [1, 2], "graddage": [500.0, 480.0]})
    gd = window_degree_days(actual, ["2026Q1"]).set_index("vindue")
    assert np.isnan(gd.loc["kvartal", "gd_actual"]) and gd.loc["kvartal", "mangler"] == "2026-03"
    with pytest.raises(energy.MissingDegreeDaysError, match=r"2026-03 .*2026Q1.*noegletal graddage import"):
        window_degree_days(actual, ["2026Q1"], required=[("2026Q1", "kvartal")])


def test_store_series_any_source(tmp_path):
    """Actual degree days come from whichever series holds the month (here national and import)."""
    with Store(tmp_path / "gd.duckdb") as store:
        # the bundled national series has 2021-08 (20.9) but not 2021-07 or 2021-09
        store.upsert_degree_days(pd.DataFrame({"aar": [2021, 2021], "maaned": [7, 9], "graddage": [30.0, 95.0]}),
                                 serie="import")
        gd = window_degree_days(store, ["2021Q3"], required=[("2021Q3", "kvartal")])
    row = gd[gd["vindue"] == "kvartal"].iloc[0]
    assert row["gd_actual"] == pytest.approx(30.0 + 20.9 + 95.0)  # = 145.9
    assert row["gd_normal"] == 22 + 18 + 91
