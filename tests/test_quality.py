"""Data-quality rules: each one triggers on a crafted case and stays quiet on the clean data set.

The clean data (tests/fixtures_analysis.py) has 24 school buildings over six quarters with every
value inside the plausible ranges; each test plants one problem and checks that exactly the expected
finding (rule, severity, building, quarter, column) comes out — one cause, one finding.
"""

import io

import pandas as pd
import pytest
from rich.console import Console

from noegletal import quality
from noegletal.definitions import default
from fixtures_analysis import (
    PERIODS, clean_data, drop_rows, facts_from, scale_value, set_value, store_from,
)

DEFS = default()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    byg, kv = clean_data()
    store = store_from(tmp_path_factory.mktemp("q") / "clean.duckdb", byg, kv)
    yield store, byg, kv
    store.close()


def run(store, byg, kv):
    return quality.find(store, facts_from(byg, kv), DEFS)


def cells(found):
    return sorted(found[["regel", "alvor", "kommunekode", "bygning_id", "periode"]].itertuples(index=False, name=None))


def test_clean_data_gives_no_findings(clean):
    store, byg, kv = clean
    found = run(store, byg, kv)
    assert list(found.columns) == quality.FINDING_COLUMNS
    assert found.empty


def test_every_rule_is_in_the_registry_with_a_valid_severity():
    assert set(r.alvor for r in quality.RULES.values()) <= set(quality.SEVERITIES)
    for rule_id in quality.RULES:
        assert rule_id in quality.__doc__


def test_vacant_area_larger_than_gross_area_is_an_error(clean):
    store, byg, kv = clean
    found = run(store, byg, set_value(kv, 101, "B03", "tomt_areal_m2", 1700.0, ["2025Q3"]))  # gross 1300
    assert cells(found) == [("inkonsistent_areal", "fejl", 101, "B03", "2025Q3")]
    row = found.iloc[0]
    assert row["kolonne"] == "tomt_areal_m2" and row["vaerdi"] == 1700.0
    assert "1.700 m²" in row["forklaring"] and "1.300 m²" in row["forklaring"]


def test_costs_without_area_is_an_error(clean):
    store, byg, kv = clean
    facts = facts_from(byg, kv)
    hit = (facts["bygning_id"] == "B02") & (facts["kommunekode"] == 147) & (facts["periode"] == "2025Q2") & (
        facts["vindue"] == "kvartal")
    facts.loc[hit, "bruttoareal_m2"] = float("nan")  # old data: ingest requires the area today
    found = quality.find(store, facts, DEFS)
    assert cells(found) == [("udgift_uden_areal", "fejl", 147, "B02", "2025Q2")]
    assert "kr." in found.iloc[0]["forklaring"]


def test_heat_in_mwh_is_a_unit_slip(clean):
    store, byg, kv = clean
    found = run(store, byg, scale_value(kv, 101, "B05", "varme_kwh", 1 / 1000, ["2026Q1"]))
    assert cells(found) == [("enhed_1000", "fejl", 101, "B05", "2026Q1")]
    text = found.iloc[0]["forklaring"]
    assert "MWh i stedet for kWh" in text and "bygningens niveau" in text and "1.000 gange lavere" in text


def test_electricity_in_wh_is_a_unit_slip_too(clean):
    store, byg, kv = clean
    found = run(store, byg, scale_value(kv, 147, "B07", "el_kwh", 1000, ["2025Q3"]))
    assert cells(found) == [("enhed_1000", "fejl", 147, "B07", "2025Q3")]
    assert "Wh i stedet for kWh" in found.iloc[0]["forklaring"]


def test_unit_slip_in_the_first_quarter_is_found_against_the_category(clean):
    store, byg, kv = clean
    found = run(store, byg, scale_value(kv, 101, "B01", "varme_kwh", 1 / 1000, ["2025Q1"]))
    assert cells(found) == [("enhed_1000", "fejl", 101, "B01", "2025Q1")]
    assert "kategorien" in found.iloc[0]["forklaring"]


def test_zero_electricity_in_a_large_building_in_use_is_an_error(clean):
    store, byg, kv = clean
    found = run(store, byg, set_value(kv, 101, "B10", "el_kwh", 0.0, ["2025Q4"]))
    assert cells(found) == [("nul_el", "fejl", 101, "B10", "2025Q4")]


def test_zero_heat_is_a_warning_outside_summer_and_quiet_in_summer(clean):
    store, byg, kv = clean
    winter = run(store, byg, set_value(kv, 101, "B10", "varme_kwh", 0.0, ["2026Q1"]))
    assert cells(winter) == [("nul_varme", "advarsel", 101, "B10", "2026Q1")]
    summer = run(store, byg, set_value(kv, 101, "B10", "varme_kwh", 0.0, ["2025Q3"]))
    assert summer.empty


def test_energy_far_outside_the_range_is_an_error(clean):
    store, byg, kv = clean
    # electricity 25 × 30 = 750 kWh/m² a year: more than 5 × the maximum 120 for schools
    found = run(store, byg, scale_value(kv, 147, "B00", "el_kwh", 25, ["2026Q2"]))
    assert cells(found) == [("interval_groft", "fejl", 147, "B00", "2026Q2")]
    assert found.iloc[0]["noegletal"] == "el_kwh_pr_m2" and found.iloc[0]["kolonne"] == "el_kwh"
    assert found.iloc[0]["vaerdi"] == pytest.approx(30 * 1.01 * 25)  # 147's buildings use 1 % more


def test_jump_from_quarter_to_quarter_is_a_warning_found_once(clean):
    store, byg, kv = clean
    found = run(store, byg, scale_value(kv, 101, "B04", "el_kwh", 4, ["2025Q3"]))
    # one finding: the next quarter (back to normal) is compared with all four earlier quarters
    assert cells(found) == [("spring", "advarsel", 101, "B04", "2025Q3")]
    assert "4,0 gange højere" in found.iloc[0]["forklaring"]


def test_jump_in_cleaning_cost_is_found_and_covers_the_rolling_year(clean):
    store, byg, kv = clean
    found = run(store, byg, scale_value(kv, 147, "B09", "rengoering_kr", 20, ["2025Q4"]))
    # the rolling years 2025Q4–2026Q2 include the quarter: its range finding is the same cause
    assert cells(found) == [("spring", "advarsel", 147, "B09", "2025Q4")]
    assert found.iloc[0]["kolonne"] == "rengoering_kr"


def test_missing_row_and_missing_building_are_missing_quarters(tmp_path):
    byg, kv = clean_data()
    kv = drop_rows(kv, 101, "B06", ["2025Q3"])  # (a) listed in bygninger, no kvartal row
    byg = drop_rows(byg, 147, "B08", ["2025Q2"])  # (b) left out of the whole submission
    kv = drop_rows(kv, 147, "B08", ["2025Q2"])
    kv = set_value(kv, 101, "B11", "tomt_areal_m2", None, ["2026Q1"])  # (a') a row with every value empty
    for c in kv.columns[3:]:
        kv = set_value(kv, 101, "B11", c, None, ["2026Q1"])
    with store_from(tmp_path / "m.duckdb", byg, kv) as store:
        found = quality.find(store, facts_from(byg, kv), DEFS)
    assert cells(found) == [
        ("manglende_kvartal", "advarsel", 101, "B06", "2025Q3"),
        ("manglende_kvartal", "advarsel", 101, "B11", "2026Q1"),
        ("manglende_kvartal", "advarsel", 147, "B08", "2025Q2"),
    ]
    texts = dict(zip(found["bygning_id"], found["forklaring"]))
    assert "ingen række i arket kvartal" in texts["B06"]
    assert "alle dens værdier" in texts["B11"]
    assert "2025Q1 og 2025Q3" in texts["B08"]
    assert dict(zip(found["bygning_id"], found["navn"])) == {
        "B06": "Skole 6 (101)", "B11": "Skole 11 (101)", "B08": "Skole 8 (147)"}


def test_last_quarter_without_a_next_one_is_not_a_gap(tmp_path):
    byg, kv = clean_data()
    byg, kv = drop_rows(byg, 101, "B06", ["2026Q2"]), drop_rows(kv, 101, "B06", ["2026Q2"])  # e.g. sold
    with store_from(tmp_path / "s.duckdb", byg, kv) as store:
        assert quality.find(store, facts_from(byg, kv), DEFS).empty


def test_category_change_is_a_warning_in_the_quarter_it_happens(clean):
    store, byg, kv = clean
    byg2 = set_value(byg, 147, "B03", "anvendelseskode", 321, ["2026Q1", "2026Q2"])
    byg2 = set_value(byg2, 147, "B03", "kategori", "administration", ["2026Q1", "2026Q2"])
    found = run(store, byg2, kv)
    assert cells(found) == [("kategori_skift", "advarsel", 147, "B03", "2026Q1")]
    assert "skoler til administration (anvendelseskode 421 → 321)" in found.iloc[0]["forklaring"]


def test_zero_users_with_costs_is_a_warning(clean):
    store, byg, kv = clean
    found = run(store, byg, set_value(kv, 101, "B02", "brugere", 0.0, ["2025Q2"]))
    assert cells(found) == [("brugere_nul", "advarsel", 101, "B02", "2025Q2")]
    assert found.iloc[0]["noegletal"] == "driftsudgift_pr_bruger"


def test_rolling_year_outside_the_range_is_a_warning_each_quarter(clean):
    store, byg, kv = clean
    # rent of 2.000 kr./m² a year: operating cost ≈ 2.375 kr./m², above the maximum 2.000
    area = 1000.0 + 100 * 5
    kv2 = set_value(kv, 101, "B05", "husleje_kr", area * 2000 / 4)
    byg2 = set_value(byg, 101, "B05", "ejerforhold", "lejet")
    found = run(store, byg2, kv2)
    assert cells(found) == [("interval_aar", "advarsel", 101, "B05", p) for p in PERIODS[3:]]
    assert set(found["noegletal"]) == {"driftsudgift_pr_m2"}
    assert "for skoler forventes 100–2.000 kr. pr. m²" in found.iloc[0]["forklaring"].replace("For", "for")


def test_energy_quarter_check_is_left_to_the_rolling_year_when_there_is_one(clean):
    store, byg, kv = clean
    # electricity 100 kWh/m² a year, then 160 in 2026Q2: above the schools' maximum 120 with the quarter's
    # 25 % slack, but no jump (under 3 times) and the rolling year (115) is within the range
    kv2 = scale_value(scale_value(kv, 147, "B00", "el_kwh", 100 / 30, PERIODS), 147, "B00", "el_kwh", 1.6, ["2026Q2"])
    found = run(store, byg, kv2)
    assert not (found["regel"] == "interval_kvartal").any()
    # without a rolling year ending in 2026Q2 (2025Q3 not reported) the quarter check speaks
    found = run(store, byg, drop_rows(kv2, 147, "B00", ["2025Q3"]))
    quarter = found[found["regel"] == "interval_kvartal"]
    assert list(zip(quarter["bygning_id"], quarter["periode"], quarter["noegletal"])) == [
        ("B00", "2026Q2", "el_kwh_pr_m2")]


def test_stock_figure_outside_the_range_is_a_quarter_warning(clean):
    store, byg, kv = clean
    found = run(store, byg, set_value(kv, 147, "B01", "brugere", 1100 / 50))  # 50 m² per pupil, max 40
    assert cells(found) == [("interval_kvartal", "advarsel", 147, "B01", p) for p in PERIODS]
    assert set(found["noegletal"]) == {"areal_pr_bruger"} and set(found["kolonne"]) == {"brugere"}


def test_robust_outlier_against_the_category_is_a_warning(clean):
    store, byg, kv = clean
    # 100 kWh/m² electricity: inside the range 8–120, but 3 times the schools' median; judged on
    # the rolling years (2025Q4–2026Q2)
    found = run(store, byg, set_value(kv, 101, "B00", "el_kwh", 1000 * 100 / 4))
    assert cells(found) == [("afvigende", "advarsel", 101, "B00", p) for p in PERIODS[3:]]
    assert set(found["noegletal"]) == {"el_kwh_pr_m2"}
    assert "medianen for skoler" in found.iloc[0]["forklaring"]


def test_print_findings_needs_compute_first(clean, tmp_path):
    byg, kv = clean_data()
    with store_from(tmp_path / "p.duckdb", byg, kv) as store:
        out, err = _consoles()
        assert quality.print_findings(store, None, out[0], err[0]) == 1
        assert "Kør først 'noegletal compute'" in err[1].getvalue()


def test_print_findings_groups_by_severity_and_checks_the_period(tmp_path):
    byg, kv = clean_data()
    kv = set_value(kv, 101, "B10", "el_kwh", 0.0, ["2025Q4"])
    kv = scale_value(kv, 101, "B04", "el_kwh", 4, ["2025Q3"])
    with store_from(tmp_path / "p.duckdb", byg, kv) as store:
        store.replace_tables({"fund": quality.find(store, facts_from(byg, kv), DEFS)})
        out, err = _consoles()
        assert quality.print_findings(store, None, out[0], err[0]) == 0
        text = out[1].getvalue()
        assert text.index("Fejl") < text.index("Advarsler")
        assert "København (101)" in text and "nul_el" in text and "I alt 2 fund (1 fejl)" in text
        out, err = _consoles()
        assert quality.print_findings(store, "2025Q3", out[0], err[0]) == 0
        assert "nul_el" not in out[1].getvalue() and "spring" in out[1].getvalue()
        out, err = _consoles()
        assert quality.print_findings(store, "2025Q1", out[0], err[0]) == 0
        assert "Ingen datakvalitetsfund for 1. kvartal 2025" in out[1].getvalue()
        for bad in ("2030Q1", "2025-3"):
            out, err = _consoles()
            assert quality.print_findings(store, bad, out[0], err[0]) == 1
            assert "Fejl:" in err[1].getvalue()


def _consoles():
    buf = io.StringIO()
    return (Console(file=buf, width=200, color_system=None), buf), (
        Console(file=(ebuf := io.StringIO()), width=200, color_system=None), ebuf)


def test_row_order_and_categorical_text_do_not_change_the_findings(clean):
    """building_facts delivers the rows sorted by building and quarter, with categorical text; a
    hand-made frame may come in any order with plain strings: both give the same findings."""
    store, byg, kv = clean
    kv2 = scale_value(kv, 101, "B04", "el_kwh", 4, ["2025Q3"])  # a jump
    kv2 = scale_value(kv2, 147, "B02", "varme_kwh", 1000, ["2025Q4"])  # a unit slip
    byg2 = set_value(byg, 147, "B03", "kategori", "administration", ["2026Q1", "2026Q2"])  # a category change
    facts = facts_from(byg2, kv2)
    expected = quality.find(store, facts, DEFS)
    assert {"spring", "enhed_1000", "kategori_skift"} <= set(expected["regel"])
    shuffled = facts.sample(frac=1, random_state=1).reset_index(drop=True)
    text = ["bygning_id", "navn", "kategori", "periode", "vindue"]
    shuffled[text] = shuffled[text].astype("category")
    in_order = lambda f: f.sort_values(list(f.columns)).reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(in_order(quality.find(store, shuffled, DEFS)), in_order(expected))


def test_two_rows_for_the_same_building_and_quarter_are_refused(clean):
    store, byg, kv = clean
    facts = facts_from(byg, kv)
    with pytest.raises(ValueError, match="flere rækker for samme bygning og kvartal"):
        quality.find(store, pd.concat([facts, facts.iloc[[0]]], ignore_index=True), DEFS)


def test_findings_have_the_contract_dtypes(clean):
    store, byg, kv = clean
    found = run(store, byg, set_value(kv, 101, "B10", "el_kwh", 0.0, ["2025Q4"]))
    assert found["vaerdi"].dtype == "float64" and found["kommunekode"].dtype == "int64"
    assert found["noegletal"].isna().all() and isinstance(found["forklaring"].iloc[0], str)
    assert pd.api.types.is_string_dtype(found["periode"])


# --------------------------------------------------------------------------------------------------
# The default demo: every planted error is found; false alarms are counted and bounded
# --------------------------------------------------------------------------------------------------

# planted kind -> (rule, severity, column) that must name it
PLANTED_RULES = {
    "kwh_som_mwh": ("enhed_1000", "fejl", "varme_kwh"),
    "manglende_kvartal": ("manglende_kvartal", "advarsel", None),
    "ekstrem_udgift": ("spring", "advarsel", "rengoering_kr"),
    "kategori_skift": ("kategori_skift", "advarsel", "kategori"),
    "kvartalsspring": ("spring", "advarsel", "el_kwh"),
    "implausibelt_nul": ("nul_el", "fejl", "el_kwh"),
}


@pytest.fixture(scope="module")
def demo_findings(tmp_path_factory):
    from noegletal import compute
    from noegletal.demo_db import build_demo_database
    from noegletal.store import Store

    with Store(tmp_path_factory.mktemp("demo") / "demo.duckdb") as store:
        build_demo_database(store)  # the default demo: 30 municipalities, 8 quarters, seed 42
        tables = compute.build(store)
        planted = store.table("demo_plantede_fejl")
        n_rows = int((tables["bygningsfakta"]["vindue"] == "kvartal").sum())
    return tables["fund"], planted, n_rows


def test_every_planted_demo_error_is_found(demo_findings):
    from noegletal import demo

    found, planted, _ = demo_findings
    assert set(planted["kind"]) - demo.NOT_IN_SUBMISSIONS == set(PLANTED_RULES)
    for p in planted[~planted["kind"].isin(demo.NOT_IN_SUBMISSIONS)].itertuples():
        rule, alvor, kolonne = PLANTED_RULES[p.kind]
        hit = found[(found["kommunekode"] == p.kommunekode) & (found["bygning_id"] == p.bygning_id)
                    & (found["periode"] == p.periode) & (found["regel"] == rule)]
        assert len(hit) == 1, (p.kind, p.kommunekode, p.bygning_id, p.periode)
        assert hit["alvor"].iloc[0] == alvor
        assert (pd.isna(hit["kolonne"].iloc[0]) if kolonne is None else hit["kolonne"].iloc[0] == kolonne)


def test_vacant_over_gross_from_the_malformed_demo_example_is_found(tmp_path):
    from noegletal import demo
    from noegletal.store import Store

    planted = next(p for p in demo.generate().planted if p.kind == "tomt_over_brutto")
    byg, kv = demo.malformed_example()
    with Store(tmp_path / "m.duckdb") as store:  # facts only: ingest would (rightly) reject the file
        found = quality.find(store, facts_from(byg.assign(periode=planted.periode), kv), DEFS)
    assert cells(found[found["alvor"] == "fejl"]) == [
        ("inkonsistent_areal", "fejl", planted.kommunekode, planted.bygning_id, planted.periode)]


def test_demo_false_alarms_per_rule(demo_findings):
    """Everything not planted is a false alarm as far as the demo knows. The counts are printed
    (pytest -s) and bounded: no false blocking errors, and warnings on under 1 % of building-quarters."""
    found, planted, n_rows = demo_findings
    key = ["kommunekode", "bygning_id", "periode"]
    is_planted = found[key].apply(tuple, axis=1).isin(set(planted[key].apply(tuple, axis=1)))
    false = found[~is_planted]
    print("\nFalske alarmer i standarddemoen pr. regel:")
    print(false.groupby(["alvor", "regel"]).size().to_string())
    assert (false["alvor"] == "fejl").sum() == 0
    assert len(false) < 0.01 * n_rows
