"""Tests for noegletal.demo: determinism, model validity, calibrated levels and planted errors.

Calibration bands are wide on purpose: they check that the synthetic data is in the right order of
magnitude for Danish municipal buildings (kalibrering_noegletal.csv), not the exact levels. The
operating cost lands near 400 kr./m²/yr: the brief's 300 kr./m² (KL's 9.5 bn / 31 mio. m²) does not
include energy, and heat at ≈0.6 kr./kWh plus electricity at ≈1.4 kr./kWh alone add ≈150 kr./m².
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from noegletal import demo, model, reference


@pytest.fixture(scope="module")
def default() -> demo.DemoData:
    return demo.generate()


def _category_of_code() -> dict[int, str]:
    codes = reference.bbr_codes()
    return dict(zip(codes["anvendelseskode"].astype(int), codes["kategori"].astype(str)))


def _joined(data: demo.DemoData) -> pd.DataFrame:
    """All kvartal rows with their building master data and effective category."""
    byg = pd.concat([s.bygninger.assign(periode=s.periode) for s in data.submissions], ignore_index=True)
    kv = pd.concat([s.kvartal for s in data.submissions], ignore_index=True)
    x = kv.merge(byg, on=["kommunekode", "bygning_id", "periode"], how="left", validate="one_to_one")
    derived = x["anvendelseskode"].astype(int).map(_category_of_code()).fillna("oevrige")
    x["kat"] = x["kategori"].astype(object).where(x["kategori"].notna(), derived).astype(str)
    return x


def _without_planted(x: pd.DataFrame, data: demo.DemoData) -> pd.DataFrame:
    bad = {(p.kommunekode, p.bygning_id) for p in data.planted}
    keys = list(zip(x["kommunekode"].astype(int), x["bygning_id"].astype(str)))
    return x[[k not in bad for k in keys]]


def _last_rolling_year(x: pd.DataFrame) -> pd.DataFrame:
    """Rows of the last four quarters, only buildings that reported all four."""
    last4 = sorted(x["periode"].unique())[-4:]
    y = x[x["periode"].isin(last4)]
    n = y.groupby(["kommunekode", "bygning_id"])["periode"].transform("size")
    return y[n == 4]


def _submission(data: demo.DemoData, kommunekode: int, periode: str) -> demo.Submission:
    return next(s for s in data.submissions if s.kommunekode == kommunekode and s.periode == periode)


def _kv_row(data: demo.DemoData, kommunekode: int, bygning_id: str, periode: str) -> pd.Series | None:
    kv = _submission(data, kommunekode, periode).kvartal
    hit = kv[kv["bygning_id"] == bygning_id]
    return None if hit.empty else hit.iloc[0]


# --- determinism -----------------------------------------------------------------------------------


def _assert_same(a: demo.DemoData, b: demo.DemoData) -> None:
    assert len(a.submissions) == len(b.submissions)
    for sa, sb in zip(a.submissions, b.submissions):
        assert (sa.kommunekode, sa.periode) == (sb.kommunekode, sb.periode)
        pdt.assert_frame_equal(sa.bygninger, sb.bygninger)
        pdt.assert_frame_equal(sa.kvartal, sb.kvartal)
    pdt.assert_frame_equal(a.degree_days, b.degree_days)
    assert a.planted == b.planted


def test_same_seed_gives_identical_data(default):
    _assert_same(default, demo.generate())
    _assert_same(demo.generate(7, 5, seed=3), demo.generate(7, 5, seed=3))


def test_different_seed_gives_different_data(default):
    other = demo.generate(seed=43)
    assert {s.kommunekode for s in other.submissions} != {s.kommunekode for s in default.submissions}
    # København is in both (the largest cities always are), with different buildings.
    assert not _submission(other, 101, "2026Q2").bygninger.equals(_submission(default, 101, "2026Q2").bygninger)
    assert not other.degree_days.equals(default.degree_days)
    assert [(p.kommunekode, p.bygning_id) for p in other.planted] != [
        (p.kommunekode, p.bygning_id) for p in default.planted]


def test_no_global_random_state_is_used():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    demo.generate(3, 2, seed=1)
    assert np.array_equal(np.random.get_state()[1], before)


# --- shape and model validity ---------------------------------------------------------------------


def test_default_counts_and_order(default):
    periods = [f"{y}Q{q}" for y, q in [(2024, 3), (2024, 4), (2025, 1), (2025, 2), (2025, 3), (2025, 4),
                                        (2026, 1), (2026, 2)]]
    kommuner = sorted({s.kommunekode for s in default.submissions})
    assert len(kommuner) == 30
    assert sorted({s.periode for s in default.submissions}) == periods
    assert len(default.submissions) == 30 * 8
    keys = [(s.periode, s.kommunekode) for s in default.submissions]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_every_submission_follows_the_model(default):
    cols_b, cols_k = model.column_ids("bygninger"), model.column_ids("kvartal")
    for s in default.submissions:
        byg, kv = s.bygninger, s.kvartal
        assert list(byg.columns) == cols_b and list(kv.columns) == cols_k
        pdt.assert_frame_equal(byg, model.coerce_dtypes(byg, "bygninger"))
        pdt.assert_frame_equal(kv, model.coerce_dtypes(kv, "kvartal"))
        model.BYGNINGER_SCHEMA.validate(byg)
        model.KVARTAL_SCHEMA.validate(kv)
        assert (byg["kommunekode"] == s.kommunekode).all() and (kv["kommunekode"] == s.kommunekode).all()
        assert (kv["periode"] == s.periode).all()
        assert set(kv["bygning_id"]) <= set(byg["bygning_id"])
        # Cross-table rule that ingest checks: vacant area never above gross area in submissions.
        m = kv.merge(byg[["bygning_id", "bruttoareal_m2"]], on="bygning_id")
        assert not (m["tomt_areal_m2"] > m["bruttoareal_m2"]).any()
        # Rented buildings pay rent, owned ones leave it empty.
        rent = kv.merge(byg[["bygning_id", "ejerforhold"]], on="bygning_id")
        assert rent.loc[rent["ejerforhold"] == "ejet", "husleje_kr"].isna().all()
        assert rent.loc[rent["ejerforhold"] == "lejet", "husleje_kr"].notna().all()
        assert byg.index.equals(pd.RangeIndex(len(byg))) and kv.index.equals(pd.RangeIndex(len(kv)))


def test_small_and_odd_sizes_are_valid():
    for n, q in [(1, 1), (2, 2), (3, 3), (5, 4)]:
        data = demo.generate(n, q, seed=5)
        assert len(data.submissions) == n * q
        for s in data.submissions:
            model.BYGNINGER_SCHEMA.validate(s.bygninger)
            model.KVARTAL_SCHEMA.validate(s.kvartal)
        kinds = {p.kind for p in data.planted}
        assert "manglende_kvartal" in kinds or q < 3
        assert {"kategori_skift", "kvartalsspring"} <= kinds or q < 2
    with pytest.raises(ValueError):
        demo.generate(0)
    with pytest.raises(ValueError):
        demo.generate(99)
    with pytest.raises(ValueError):
        demo.generate(n_quarters=0)
    with pytest.raises(ValueError):
        demo.generate(last_period="2026-06")


def test_municipality_selection_is_stratified_and_deterministic(default):
    mun = reference.municipalities().set_index("kommunekode")
    chosen = sorted({s.kommunekode for s in default.submissions})
    assert {101, 751, 851} <= set(chosen)  # the largest cities are always in
    assert mun.loc[chosen, "kommunegruppe_kode"].nunique() == 5
    for n in (1, 4, 5, 12, 30, 60, 97):
        a = demo._choose_municipalities(n, np.random.default_rng(1))
        b = demo._choose_municipalities(n, np.random.default_rng(1))
        assert len(a) == n and list(a["kommunekode"]) == list(b["kommunekode"])
        assert 101 in set(a["kommunekode"])
        assert a["kommunegruppe_kode"].nunique() == min(n, 5) or n < 5
    assert len(demo._choose_municipalities(98, np.random.default_rng(1))) == 98


def test_building_names_are_unique_and_municipality_specific(default):
    names: dict[int, set[str]] = {}
    for s in default.submissions:
        assert s.bygninger["navn"].is_unique
        names.setdefault(s.kommunekode, set()).update(s.bygninger["navn"])
    seen: set[str] = set()
    for k, ns in names.items():
        assert not (ns & seen), "a building name occurs in two municipalities"
        seen |= ns
        town = reference.municipality_name(k)
        assert all(f"({town})" in n for n in ns)
    # No name of one municipality is a substring of a name in another (report leakage tests grep).
    sample = {k: sorted(ns)[:25] for k, ns in names.items()}
    for k, ns in sample.items():
        others = " | ".join(n for k2, ns2 in names.items() if k2 != k for n in ns2)
        assert not any(n in others for n in ns)


def test_buildings_change_little_between_quarters(default):
    by_quarter: dict[str, set] = {}
    for s in default.submissions:
        by_quarter.setdefault(s.periode, set()).update(zip([s.kommunekode] * len(s.bygninger), s.bygninger["bygning_id"]))
    periods = sorted(by_quarter)
    total_changes = 0
    for a, b in zip(periods, periods[1:]):
        total_changes += len(by_quarter[a] ^ by_quarter[b])
    assert 2 <= total_changes <= 12  # a handful of new and sold buildings
    # Master data of a building that stays is the same every quarter (except the planted shift).
    shift = next(p for p in default.planted if p.kind == "kategori_skift")
    byg = pd.concat([s.bygninger for s in default.submissions])
    byg = byg[~((byg["kommunekode"] == shift.kommunekode) & (byg["bygning_id"] == shift.bygning_id))]
    per_building = byg.astype(str).drop_duplicates()
    assert not per_building.duplicated(["kommunekode", "bygning_id"]).any()


# --- calibration ------------------------------------------------------------------------------------


def test_area_per_inhabitant(default):
    last = [s for s in default.submissions if s.periode == "2026Q2"]
    pop = reference.municipalities().set_index("kommunekode")["befolkning"]
    area = sum(float(s.bygninger["bruttoareal_m2"].sum()) for s in last)
    inhabitants = float(pop.loc[[s.kommunekode for s in last]].sum())
    assert 4.0 <= area / inhabitants <= 6.5
    for s in last:  # every municipality within its own band
        assert 3.9 <= float(s.bygninger["bruttoareal_m2"].sum()) / pop.loc[s.kommunekode] <= 6.6


def test_rolling_year_levels_by_category(default):
    y = _last_rolling_year(_without_planted(_joined(default), default))
    area = y.groupby("kat")["bruttoareal_m2"].sum() / 4
    heat = y.groupby("kat")["varme_kwh"].sum() / area
    bands = {"skole": (80, 170), "dagtilbud": (100, 200), "plejecenter": (90, 190), "administration": (55, 140),
             "idraet": (130, 300), "kultur": (70, 170), "bibliotek": (70, 170), "sundhed": (70, 170),
             "oevrige": (70, 170)}
    for kat, (lo, hi) in bands.items():
        assert lo <= heat[kat] <= hi, (kat, heat[kat])
    total_area = y["bruttoareal_m2"].sum() / 4
    assert 20 <= y["el_kwh"].sum() / total_area <= 70
    reported_water = y[y["vand_m3"].notna()]
    assert 0.2 <= reported_water["vand_m3"].sum() / (reported_water["bruttoareal_m2"].sum() / 4) <= 0.8
    cost = y[list(model.COST_COLUMNS)].sum().sum() / total_area
    assert 200 <= cost <= 450
    # Schools are the largest category by area, ≈ 35-40 %.
    assert 0.30 <= area["skole"] / area.sum() <= 0.45
    # m² per user near the published levels.
    users = y[y["brugere"].notna()].groupby("kat")
    m2_per_user = (users["bruttoareal_m2"].sum() / users["brugere"].sum())
    assert 14 <= m2_per_user["skole"] <= 22
    assert 7 <= m2_per_user["dagtilbud"] <= 11


def test_municipalities_really_differ(default):
    y = _last_rolling_year(_without_planted(_joined(default), default))
    g = y.groupby("kommunekode")
    cleaning = g["rengoering_kr"].sum() / (g["bruttoareal_m2"].sum() / 4)
    assert cleaning.max() / cleaning.min() > 1.3


def test_optional_cells_are_sometimes_empty(default):
    x = _joined(default)
    assert 0.15 <= x["indeklima"].isna().mean() <= 0.45
    assert 0.01 <= x["vand_m3"].isna().mean() <= 0.10
    assert x["varme_kwh"].notna().all() and x["rengoering_kr"].notna().all()
    assert 0.01 <= x["varmeandel_vejruafhaengig_pct"].notna().mean() <= 0.06
    assert 0.03 <= (x["ejerforhold"] == "lejet").mean() <= 0.12
    assert 0.01 <= (x["tomt_areal_m2"] > 0).mean() <= 0.10
    grades = x["tilstandsgrad"].dropna()
    assert set(grades.unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}


# --- planted errors --------------------------------------------------------------------------------


def test_planted_errors_are_listed_in_demo_municipalities_and_quarters(default):
    kinds = [p.kind for p in default.planted]
    assert kinds == list(demo.PLANTED_KINDS)
    keys = {(s.kommunekode, s.periode) for s in default.submissions}
    for p in default.planted:
        assert (p.kommunekode, p.periode) in keys
        byg = _submission(default, p.kommunekode, p.periode).bygninger
        assert p.bygning_id in set(byg["bygning_id"])
        assert p.column in model.column_ids("bygninger") + model.column_ids("kvartal")
        assert p.description and "\n" not in p.description
    assert len({(p.kommunekode, p.bygning_id) for p in default.planted}) == len(default.planted)


def _planted(data, kind):
    return next(p for p in data.planted if p.kind == kind)


def _neighbours(data, p):
    prev = _kv_row(data, p.kommunekode, p.bygning_id, model.shift_period(p.periode, -1))
    nxt = _kv_row(data, p.kommunekode, p.bygning_id, model.shift_period(p.periode, 1))
    return prev, nxt


def test_planted_kwh_as_mwh(default):
    p = _planted(default, "kwh_som_mwh")
    row = _kv_row(default, p.kommunekode, p.bygning_id, p.periode)
    prev, nxt = _neighbours(default, p)
    area = float(_submission(default, p.kommunekode, p.periode).bygninger.set_index("bygning_id").loc[
        p.bygning_id, "bruttoareal_m2"])
    assert row["varme_kwh"] / area < 0.2  # a few hundredths of a kWh per m² in a quarter
    assert 0.5 < row["varme_kwh"] * 1000 / area < 150  # ×1000 it is a normal quarter
    assert prev["varme_kwh"] / area > 0.5 and nxt["varme_kwh"] / area > 0.5


def test_planted_missing_quarter(default):
    p = _planted(default, "manglende_kvartal")
    assert _kv_row(default, p.kommunekode, p.bygning_id, p.periode) is None
    prev, nxt = _neighbours(default, p)
    assert prev is not None and nxt is not None


def test_planted_extreme_cost(default):
    p = _planted(default, "ekstrem_udgift")
    row = _kv_row(default, p.kommunekode, p.bygning_id, p.periode)
    prev, nxt = _neighbours(default, p)
    assert 15 < row["rengoering_kr"] / prev["rengoering_kr"] < 25
    assert 15 < row["rengoering_kr"] / nxt["rengoering_kr"] < 25


def test_planted_category_shift(default):
    p = _planted(default, "kategori_skift")
    cat_of = _category_of_code()
    for s in default.submissions:
        if s.kommunekode != p.kommunekode:
            continue
        row = s.bygninger.set_index("bygning_id").loc[p.bygning_id]
        kat = row["kategori"] if pd.notna(row["kategori"]) else cat_of[int(row["anvendelseskode"])]
        if s.periode < p.periode:
            assert int(row["anvendelseskode"]) == 441 and kat == "dagtilbud"
        else:
            assert int(row["anvendelseskode"]) == 321 and kat == "administration"
    assert p.periode > default.submissions[0].periode


def test_planted_quarter_jump_in_electricity(default):
    p = _planted(default, "kvartalsspring")
    row = _kv_row(default, p.kommunekode, p.bygning_id, p.periode)
    prev, nxt = _neighbours(default, p)
    assert 2.5 < row["el_kwh"] / prev["el_kwh"] < 7  # ×4, give or take the season
    assert 2.5 < row["el_kwh"] / nxt["el_kwh"] < 7


def test_planted_implausible_zero(default):
    p = _planted(default, "implausibelt_nul")
    row = _kv_row(default, p.kommunekode, p.bygning_id, p.periode)
    assert row["el_kwh"] == 0
    byg = _submission(default, p.kommunekode, p.periode).bygninger
    b = byg.set_index("bygning_id").loc[p.bygning_id]
    assert _category_of_code()[int(b["anvendelseskode"])] == "skole" and b["bruttoareal_m2"] >= 1000
    prev, nxt = _neighbours(default, p)
    assert prev["el_kwh"] > 0 and nxt["el_kwh"] > 0
    # The only zero electricity in the whole demo.
    x = _joined(default)
    assert (x["el_kwh"] == 0).sum() == 1


def test_vacant_over_gross_only_in_malformed_example(default):
    p = _planted(default, "tomt_over_brutto")
    assert p.kind in demo.NOT_IN_SUBMISSIONS
    byg, kv = demo.malformed_example()
    assert list(byg.columns) == model.column_ids("bygninger") and list(kv.columns) == model.column_ids("kvartal")
    model.BYGNINGER_SCHEMA.validate(byg)  # each table is valid on its own
    model.KVARTAL_SCHEMA.validate(kv)
    assert 2 <= len(byg) <= 8 and set(kv["bygning_id"]) == set(byg["bygning_id"])
    assert (byg["kommunekode"] == p.kommunekode).all() and (kv["periode"] == p.periode).all()
    m = kv.merge(byg[["bygning_id", "bruttoareal_m2"]], on="bygning_id")
    over = m[m["tomt_areal_m2"] > m["bruttoareal_m2"]]
    assert list(over["bygning_id"]) == [p.bygning_id]
    # The demo itself carries a normal value for that building-quarter.
    row = _kv_row(default, p.kommunekode, p.bygning_id, p.periode)
    assert pd.isna(row["tomt_areal_m2"]) or row["tomt_areal_m2"] <= over["bruttoareal_m2"].iloc[0]


# --- degree days -----------------------------------------------------------------------------------


def _missing_months(periods: list[str]) -> list[tuple[int, int]]:
    nat = reference.degree_days_national()
    have = set(zip(nat["aar"].astype(int), nat["maaned"].astype(int)))
    return sorted({ym for p in periods for ym in model.period_months(p) if ym not in have})


def test_synthetic_degree_days_cover_exactly_the_missing_months(default):
    periods = sorted({s.periode for s in default.submissions})
    gd = default.degree_days
    assert list(gd.columns) == ["aar", "maaned", "graddage"]
    assert gd["graddage"].dtype == np.float64
    assert sorted(zip(gd["aar"], gd["maaned"])) == _missing_months(periods)
    assert len(gd) == 24  # 2024-07 … 2026-06, all after the bundled series
    normal = reference.degree_days_normal()
    ratio = gd["graddage"].to_numpy() / normal.loc[gd["maaned"]].to_numpy()
    assert (ratio > 0.55).all() and (ratio < 1.3).all() and 0.8 < ratio.mean() < 1.05
    assert (gd["graddage"].round(1) == gd["graddage"]).all()


def test_synthetic_degree_days_include_july_2021_gap():
    data = demo.generate(2, 8, last_period="2022Q2")  # 2020Q3 … 2022Q2
    months = set(zip(data.degree_days["aar"], data.degree_days["maaned"]))
    assert (2021, 7) in months and (2021, 6) not in months and (2021, 9) in months
    assert sorted(months) == _missing_months(sorted({s.periode for s in data.submissions}))


def test_heat_follows_degree_days(default):
    x = _without_planted(_joined(default), default)
    heat = x.groupby("periode")["varme_kwh"].sum()
    assert heat["2025Q1"] > 4 * heat["2025Q3"]


# --- national scale --------------------------------------------------------------------------------


def test_national_scale():
    start = time.perf_counter()
    data = demo.generate(98, 40)
    elapsed = time.perf_counter() - start
    assert elapsed < 30
    assert len(data.submissions) == 98 * 40
    assert data.submissions[0].periode == "2016Q3" and data.submissions[-1].periode == "2026Q2"
    last = [s for s in data.submissions if s.periode == "2026Q2"]
    area = sum(float(s.bygninger["bruttoareal_m2"].sum()) for s in last)
    buildings = sum(len(s.bygninger) for s in last)
    assert 25e6 <= area <= 37e6
    assert 40_000 <= buildings <= 60_000
    rows = sum(len(s.kvartal) for s in data.submissions)
    assert 1.6e6 <= rows <= 2.4e6
    assert sorted(zip(data.degree_days["aar"], data.degree_days["maaned"])) == _missing_months(
        sorted({s.periode for s in data.submissions}))
