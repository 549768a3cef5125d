"""The JupyterLab API over the mart, on the fixture (tests/fixtures_mart.py)."""

from __future__ import annotations

import pandas as pd
import pytest

import fixtures_mart as fx
from noegletal import api
from noegletal.store import Store


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "mart.duckdb"
    fx.computed_store(path).close()
    return path


@pytest.fixture()
def mart(db):
    with api.open_mart(db) as m:
        yield m


def test_key_figures_tidy_with_names_and_units(mart):
    df = mart.key_figures(kommunekode=101, periode="2026Q1", vindue="kvartal")
    assert set(df["niveau"]) == {"kommune"} and set(df["kommunekode"]) == {101}
    assert df["kommune"].iloc[0] == "København"
    r = df.set_index("noegletal").loc["driftsudgift_pr_m2"]
    assert r["vaerdi"] == pytest.approx(320500 / 4500)  # (82000 + 213000 + 25500) / 4500
    assert r["navn_da"] == "Driftsudgift pr. m²" and r["enhed_da"] == "kr. pr. m²"
    assert len(df) == 23  # every key figure has a kommune value for 101


def test_key_figures_filters(mart):
    df = mart.key_figures(periode="2026Q1", vindue="kvartal", noegletal="driftsudgift_pr_m2")
    assert sorted(df["kommunekode"]) == [101, 147]
    df = mart.key_figures(periode=["2025Q4", "2026Q1"], noegletal=["rengoering_pr_m2"], niveau="kategori",
                          kategori="skole", kommunekode=101)
    assert list(df["periode"]) == ["2025Q4", "2026Q1"] and set(df["vindue"]) == {"loebende_aar"}
    assert df["vaerdi"].iloc[1] == pytest.approx((86000 + 180000) / 4000)
    df = mart.key_figures(periode="2026Q1", vindue="kvartal", niveau="bygning", kommunekode=147,
                          noegletal="driftsudgift_pr_m2")
    assert list(df["enhed"]) == ["E", "D"]  # sorted by category (dagtilbud, skole), then building
    alle = mart.key_figures(periode="2026Q1", vindue="kvartal", niveau="alle", noegletal="driftsudgift_pr_m2")
    assert alle["kategori"].isna().sum() == 1 and len(alle) == 3  # all buildings, skole, dagtilbud


def test_unknown_arguments_are_clear_errors(mart):
    with pytest.raises(api.MartError, match="Ukendt nøgletal 'driftsudgift'"):
        mart.key_figures(noegletal="driftsudgift")
    with pytest.raises(api.MartError, match="Ukendt niveau"):
        mart.key_figures(niveau="region")
    with pytest.raises(api.MartError, match="ingen værdi"):
        mart.buildings_behind(147, "2025Q4", "driftsudgift_pr_m2")  # 147 has no rolling year 2025Q4
    with pytest.raises(api.MartError, match="ingen bygningstal"):
        mart.buildings_behind(101, "2026Q1", "areal_pr_indbygger")


def test_buildings_behind_add_up_to_the_group_value(mart):
    df = mart.buildings_behind(101, "2026Q1", "driftsudgift_pr_m2", vindue="kvartal")
    group = 320500 / 4500  # 71.222
    assert df.attrs["gruppevaerdi"] == pytest.approx(group)
    assert df["taeller"].sum() / df["naevner"].sum() == pytest.approx(group)
    # contribution = taeller - group * naevner: A 82000 - 71222 = 10778; B 213000 - 213667 = -667; C 25500 - 35611 = -10111
    assert list(df["bygning_id"]) == ["A", "B", "C"]
    assert df["bidrag"].tolist() == pytest.approx([82000 - 1000 * group, 213000 - 3000 * group, 25500 - 500 * group])
    assert df["bidrag"].sum() == pytest.approx(0, abs=1e-6)
    assert df["navn"].tolist() == ["Skole A", "Skole B", "Børnehus C"]
    assert df["andel_taeller"].tolist() == pytest.approx([82000 / 320500, 213000 / 320500, 25500 / 320500])


def test_buildings_behind_a_category_and_without_excluded(mart):
    df = mart.buildings_behind(101, "2026Q1", "forsyning_pr_m2", vindue="kvartal", kategori="skole")
    assert list(df["bygning_id"]) == ["A"]  # B did not report forsyning
    # E is excluded in kvartal 2025Q1 (fejl): only D is behind 147's figure
    df = mart.buildings_behind(147, "2025Q1", "driftsudgift_pr_m2", vindue="kvartal")
    assert list(df["bygning_id"]) == ["D"] and df.attrs["gruppevaerdi"] == 52.0


def test_trend(mart):
    df = mart.trend(147, "driftsudgift_pr_m2")
    assert list(df["periode"]) == ["2025Q4", "2026Q1"]
    assert pd.isna(df["vaerdi"].iloc[0])  # 147 has no rolling year 2025Q4
    assert df["vaerdi"].iloc[1] == 200.0  # E: 4 * 50000 / 1000
    # all members 2026Q1 (A, B, C, E): (326000 + 852000 + 102000 + 200000) / 5500
    assert df["alle_vaerdi"].iloc[1] == pytest.approx(1480000 / 5500)
    kvartal = mart.trend(101, "driftsudgift_pr_m2", vindue="kvartal", kategori="skole")
    assert len(kvartal) == 5 and kvartal["vaerdi"].iloc[-1] == pytest.approx(73.75)


def test_periods_info_and_definitions(mart):
    assert mart.periods() == fx.PERIODS
    assert mart.info["definitioner_version"].iloc[0] == mart.defs.version
    assert "driftsudgift_pr_m2" in set(mart.definitions_table()["noegletal"])


def test_open_without_mart_is_a_clear_error(tmp_path):
    fx.make_store(tmp_path / "raw.duckdb").close()
    with pytest.raises(api.MartError, match="Kør først 'noegletal compute'"):
        api.open_mart(tmp_path / "raw.duckdb")


def test_read_only(db, mart):
    # the API never writes: another read-only reader can open the same file at the same time
    with Store(db, read_only=True) as other:
        assert other.has_table("noegletal")
