"""The library functions the report notebooks rely on, with hand-computed expectations.

- noegletal.presentation: Danish values with units, HTML tables, standard blocks, anonymous names;
- noegletal.benchmark (added for the reports): overview, peer_values, peer_trend, member_changes,
  look_into_candidates / pick_things / things_to_look_into;
- noegletal.api (added for the reports): round_peer_sets, findings, excluded, groups, properties,
  pick_merger, property_effects;
- noegletal.plots: labels that wrap and never overlap, scaled axes, grade scales.

The hand-made mart for the benchmark functions (loebende_aar, municipality level; focus 101, peers
147, 157, 159):

| kommune | driftsudgift 2025Q2 | 2026Q1 | 2026Q2         | tilstandsgrad 2026Q2 |
|---------|---------------------|--------|----------------|----------------------|
| 101     | 420                 | 380    | 400 (1.000 m²) | 3,0                  |
| 147     | 340                 | –      | 350 (2.000 m²) | 2,0                  |
| 157     | 300                 | –      | 300 (1.000 m²) | 2,5                  |
| 159     | 450                 | –      | 500 (500 m²)   | 3,5                  |
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import fixtures_mart
import noegletal
from fixtures_analysis import mart_rows
from noegletal import api, benchmark, model, plots, scenarios
from noegletal import presentation as pr
from noegletal.definitions import default as default_definitions
from noegletal.peers import PeerSet
from noegletal.store import Store

PEERS = PeerSet("naermeste_3", "De 3 mest lignende kommuner", (147, 157, 159))
COST = {  # kommune: {periode: (taeller, naevner)}
    101: {"2025Q2": (420_000, 1000), "2026Q1": (380_000, 1000), "2026Q2": (400_000, 1000)},
    147: {"2025Q2": (680_000, 2000), "2026Q2": (700_000, 2000)},
    157: {"2025Q2": (300_000, 1000), "2026Q2": (300_000, 1000)},
    159: {"2025Q2": (225_000, 500), "2026Q2": (250_000, 500)},
}
GRADE = {101: (3000, 1000), 147: (4000, 2000), 157: (2500, 1000), 159: (1750, 500)}


def mart() -> pd.DataFrame:
    rows = [{"kommunekode": k, "periode": p, "noegletal": "driftsudgift_pr_m2", "taeller": t, "naevner": n}
            for k, by_period in COST.items() for p, (t, n) in by_period.items()]
    rows += [{"kommunekode": k, "noegletal": "tilstandsgrad", "taeller": t, "naevner": n} for k, (t, n) in GRADE.items()]
    rows += [{"kommunekode": k, "noegletal": "lejet_areal_andel_pct", "taeller": 100.0 * k, "naevner": 1000}
             for k in COST]
    return mart_rows(rows)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("praesentation") / "m.duckdb") as s:
        s.replace_tables({"noegletal": mart()})
        yield s


# -- presentation: numbers -------------------------------------------------------------------------------
@pytest.mark.parametrize("x, unit, expected", [
    (437.04, "kr. pr. m²", "437 kr. pr. m²"),
    (19.43, "m² pr. bruger", "19,4 m² pr. bruger"),
    (0.3814, "m³ pr. m²", "0,38 m³ pr. m²"),
    (2.89, "grad 1–5", "2,9 (skala 1–5)"),
    (-0.97, "kr. pr. m²", "−0,97 kr. pr. m²"),  # a true minus sign
    (-5.7e-14, "kr. pr. m²", "0 kr. pr. m²"),  # zero up to rounding in sums: no "−0,00"
    (1234567.4, "kr.", "1.234.567 kr."),
    (None, "kr.", "–"),
    (float("nan"), "kr.", "–"),
])
def test_value_text(x, unit, expected):
    assert pr.value_text(x, unit) == expected


def test_changes_and_counts_in_danish():
    assert pr.signed_value(1.7, "kr. pr. m²") == "+1,7 kr. pr. m²"
    assert pr.signed_value(-2.5, "grad 1–5") == "−2,5 (skala 1–5)"
    assert pr.signed_value(-0.004, "kr. pr. m²") == "±0 kr. pr. m²"
    assert pr.signed_value(0.74, "% af bruttoareal") == "+0,74 pct.-point"  # a share changes in points
    assert pr.signed_percent(-0.01) == "±0,0 %" and pr.signed_percent(2.345) == "+2,3 %"
    assert pr.change_text(149.3, 0.4, "% af bruttoareal") == "+0,40 pct.-point"
    assert pr.change_text(-4.76, -20, "kr. pr. m²") == "−4,8 %"
    assert pr.plural(1, "bygning", "bygninger") == "1 bygning" and pr.plural(1200, "bygning", "bygninger") == "1.200 bygninger"
    assert pr.genitive("Aarhus") == "Aarhus'" and pr.genitive("Odense") == "Odenses"
    assert pr.period_window("2026Q2") == "løbende år til og med 2. kvartal 2026"
    assert pr.rank_text(2, 6) == "2 af 6" and pr.rank_text(pd.NA, 6) == "–"


def test_column_labels():
    assert pr.column_label("varme_kwh") == "Varmeforbrug"
    assert pr.column_label("forsyning_kr") == "Udgift til forsyning (varme, el, vand)"  # not cut inside ()
    assert pr.column_label("vedligehold_planlagt_kr, vedligehold_akut_kr") == \
        "Planlagt vedligehold og akut (uplanlagt) vedligehold"
    assert pr.column_label(None) == "–"


# -- presentation: tables and blocks ---------------------------------------------------------------------
def test_table_is_plain_html_with_widths_alignment_and_escaping():
    df = pd.DataFrame({"navn": ["Skole <A> & co"], "m2": [1234.0], "b": [None]})
    html = pr.table(df, [pr.Col("navn", "Bygning", width=3), pr.Col("m2", "Areal", pr.num("m²", 0)),
                         pr.Col("b", "Note", width=1)], note="Tal for et år.").data
    assert '<col style="width: 60%"><col style="width: 20%"><col style="width: 20%">' in html
    assert '<th style="text-align: left">Bygning</th><th style="text-align: right">Areal</th>' in html
    assert "<td style=\"text-align: left\">Skole &lt;A&gt; &amp; co</td>" in html
    assert '<td style="text-align: right">1.234 m²</td>' in html and ">–</td>" in html
    assert "Tal for et år." in html and "<script" not in html and "<style" not in html


def test_overview_table_and_findings_tables():
    ov = pd.DataFrame([{
        "noegletal": "tomgangsandel_pct", "navn_da": "Tomgangsandel", "enhed_da": "% af bruttoareal", "egen": 0.67,
        "aendring_kvartal": 0.11, "aendring_aar": 0.4, "aendring_kvartal_pct": 20.5, "aendring_aar_pct": 149.3,
        "benchmark": 1.1, "placering": 1, "ud_af": 6,
    }])
    html = pr.overview_table(ov, "peer_median").data
    assert "0,67 % af bruttoareal" in html and "+0,40 pct.-point" in html and "149" not in html
    assert "Median i gruppen" in html and "1 af 6" in html
    assert "Ændring, kvartal" not in pr.overview_table(ov, short=True).data

    defs = default_definitions()
    fund = pd.DataFrame([{"kommune": "Aarhus", "navn": "Skole <1>", "kolonne": "el_kwh", "vaerdi": 0.0,
                          "noegletal": None, "alvor": "fejl", "regel_titel": "Elforbrug 0", "forklaring": "Ret det."}])
    html = pr.findings_table(fund, defs, with_municipality=True).data
    assert "Skole &lt;1&gt;" in html and "<strong>Fejl: Elforbrug 0.</strong> Ret det." in html
    assert ">Elforbrug<" in html and ">0 kWh<" in html and ">Aarhus<" in html
    assert pr.findings_table(fund.iloc[:0], defs, empty="Ingen fund.").data == "*Ingen fund.*"

    excluded = pd.DataFrame([{"kommune": "Odsherred", "navn": "Kildeskolen", "udeladt_aarsag": "fejl i 2025Q3",
                              "fund_periode": "2025Q3", "regel_titel": "Forkert enhed (faktor 1.000)",
                              "kolonne": "varme_kwh"}])
    assert "Forkert enhed (faktor 1.000), 3. kvartal 2025 (varmeforbrug)" in pr.excluded_table(excluded).data


def test_peer_set_words():
    names = {147: "Frederiksberg", 157: "Gentofte", 159: "Gladsaxe"}
    assert pr.peer_set_members(PeerSet("x", "x", (159, 147)), names) == "Frederiksberg, Gladsaxe"
    assert pr.peer_set_members(PeerSet("x", "x", ()), names) == "ingen andre medlemmer"
    assert pr.peer_set_text(PEERS, "best_quartile") == "den bedste kvartil for de 3 mest lignende kommuner"
    assert pr.peer_settings(PEERS) == {"Sammenligningsgruppe": "De 3 mest lignende kommuner (3 kommuner)",
                                       "Sammenligningstal": "medianen"}
    html = pr.peer_sets_table([PEERS, PeerSet("alle", "Alle medlemskommuner", (147, 157, 159))], names).data
    assert "Frederiksberg, Gentofte, Gladsaxe" in html and "Alle øvrige medlemmer (3)" in html


def test_findings_summary_counts_by_severity():
    fund = pd.DataFrame({"regel_titel": ["A", "A", "B", "C"], "alvor": ["fejl", "advarsel", "advarsel", "advarsel"]})
    out = pr.findings_summary(fund, "regel_titel")
    assert out.to_dict("records") == [
        {"regel_titel": "A", "fejl": 1, "advarsel": 1, "i_alt": 2},
        {"regel_titel": "B", "fejl": 0, "advarsel": 1, "i_alt": 1},
        {"regel_titel": "C", "fejl": 0, "advarsel": 1, "i_alt": 1},
    ]


def test_about_states_period_definitions_data_and_package():
    info = pd.DataFrame({"definitioner_version": ["2026.1"], "pakke_version": [noegletal.__version__],
                         "data_pr": [pd.Timestamp("2026-08-25 03:54")]})
    fake = SimpleNamespace(info=info, defs=default_definitions(),
                           store=SimpleNamespace(data_as_of=lambda: dt.datetime(2026, 8, 25, 3, 54)))
    md = pr.about(fake, "2026Q2", {"Sammenligningsgruppe": "De 5 mest lignende kommuner"}).data
    for text in ("2. kvartal 2026 (2026Q2)", "version 2026.1", "25. august 2026 kl. 03:54",
                 f"noegletal {noegletal.__version__}", "**Sammenligningsgruppe:** De 5 mest lignende kommuner"):
        assert text in md
    assert "Bemærk" not in md
    later = SimpleNamespace(info=info, defs=fake.defs, store=SimpleNamespace(data_as_of=lambda: dt.datetime(2026, 9, 1)))
    assert "kør 'noegletal compute'" in pr.about(later, "2026Q2").data  # data newer than the key figures


def test_anonymous_names_are_stable_letters_not_in_code_order():
    codes = [101, 147, 330, 479, 727, 751]
    names = pr.anonymous_names(codes, "2026Q2")
    assert names == pr.anonymous_names(list(reversed(codes)), "2026Q2")  # stable
    assert sorted(names.values()) == [f"Kommune {c}" for c in "ABCDEF"]
    assert [names[c] for c in sorted(codes)] != sorted(names.values())  # not simply by code
    assert pr.anonymous_names(codes, "2026Q3") != names  # a new shuffle each round
    assert pr._letters(25) == "Z" and pr._letters(26) == "AA"
    assert len(set(pr.anonymous_names(range(100, 140), "2026Q2").values())) == 40


# -- benchmark additions ---------------------------------------------------------------------------------
def test_overview(store):
    ids = ["driftsudgift_pr_m2", "tilstandsgrad", "lejet_areal_andel_pct", "energi_kwh_pr_m2"]
    ov = benchmark.overview(store, 101, "2026Q2", ids, PEERS).set_index("noegletal")
    assert list(ov.index) == ids[:3]  # no energy value: left out
    cost = ov.loc["driftsudgift_pr_m2"]
    assert cost["egen"] == 400 and cost["aendring_kvartal"] == pytest.approx(20) and cost["aendring_aar"] == pytest.approx(-20)
    assert cost["aendring_kvartal_pct"] == pytest.approx(100 * 20 / 380)
    assert cost["aendring_aar_pct"] == pytest.approx(-100 * 20 / 420) and bool(cost["bedre_aar"])
    assert cost["benchmark"] == 350  # median of 350, 300, 500
    assert cost["afvigelse_pct"] == pytest.approx(100 * 50 / 350) and not bool(cost["bedre"])
    assert (cost["placering"], cost["ud_af"]) == (3, 4)  # 157 (300) and 147 (350) are better
    grade = ov.loc["tilstandsgrad"]
    assert grade["egen"] == 3.0 and np.isnan(grade["aendring_aar_pct"]) and pd.isna(grade["bedre_aar"])
    assert grade["benchmark"] == 2.5 and (grade["placering"], grade["ud_af"]) == (3, 4)
    neutral = ov.loc["lejet_areal_andel_pct"]
    assert pd.isna(neutral["bedre"]) and pd.isna(neutral["placering"])
    best = benchmark.overview(store, 101, "2026Q2", ["driftsudgift_pr_m2", "lejet_areal_andel_pct"], PEERS,
                              benchmark="best_quartile").set_index("noegletal")
    assert best.loc["driftsudgift_pr_m2", "benchmark"] == 325  # 25th percentile of 300, 350, 500
    assert np.isnan(best.loc["lejet_areal_andel_pct", "benchmark"])  # no direction: no best quartile


def test_peer_values_trend_and_member_changes(store):
    values = benchmark.peer_values(store, 101, "2026Q2", "driftsudgift_pr_m2", PeerSet("x", "x", (147,)))
    assert values.to_dict("records") == [
        {"kommunekode": 101, "navn": "København", "vaerdi": 400.0, "egen": True},
        {"kommunekode": 147, "navn": "Frederiksberg", "vaerdi": 350.0, "egen": False},
    ]
    trend = benchmark.peer_trend(store, 101, "driftsudgift_pr_m2", PEERS)
    # 2026Q1: no peer has a value, so the quarter is left out
    assert trend.to_dict("records") == [
        {"periode": "2025Q2", "vaerdi": 420.0, "benchmark": 340.0, "antal_peers": 3},
        {"periode": "2026Q2", "vaerdi": 400.0, "benchmark": 350.0, "antal_peers": 3},
    ]
    ch = benchmark.member_changes(store, "2026Q2", "driftsudgift_pr_m2").set_index("kommunekode")
    assert ch["aendring"].to_dict() == {101: -20.0, 147: 10.0, 157: 0.0, 159: 50.0}
    assert ch.loc[159, "aendring_pct"] == pytest.approx(100 * 50 / 450)
    assert [None if pd.isna(b) else bool(b) for b in ch["bedre"]] == [True, False, None, False]


def test_look_into_candidates_scores_and_reasons(store):
    cand = benchmark.look_into_candidates(store, 101, "2026Q2", PEERS, ["driftsudgift_pr_m2", "tilstandsgrad"])
    by = {(r.slags, r.noegletal): r for r in cand.itertuples()}
    assert set(by) == {("niveau", "driftsudgift_pr_m2"), ("udvikling", "driftsudgift_pr_m2"), ("niveau", "tilstandsgrad")}
    # cost: members 400, 350, 300, 500 -> median 375, MAD 50, spread 1,4826 × 50
    spread = 1.4826 * 50
    assert by["niveau", "driftsudgift_pr_m2"].score == pytest.approx((400 - 350) / spread)
    assert by["niveau", "driftsudgift_pr_m2"].begrundelse == (
        "Driftsudgift pr. m² er 400 kr. pr. m² mod 350 kr. pr. m² (medianen for de 3 mest lignende kommuner), +14,3 %.")
    # changes over a year -20, +10, 0, +50: median +5
    assert by["udvikling", "driftsudgift_pr_m2"].score == pytest.approx((-20 - 5) / spread)
    assert by["udvikling", "driftsudgift_pr_m2"].begrundelse == (
        "Driftsudgift pr. m² er faldet fra 420 til 400 kr. pr. m² på et år, mens ændringen hos mediankommunen "
        "er +5,0 kr. pr. m².")
    # grades 3,0, 2,0, 2,5, 3,5: MAD 0,5
    assert by["niveau", "tilstandsgrad"].score == pytest.approx(0.5 / (1.4826 * 0.5))
    assert by["niveau", "driftsudgift_pr_m2"].familie == "driftsudgift_pr_m2"
    things = benchmark.things_to_look_into(store, 101, "2026Q2", PEERS, noegletal=["driftsudgift_pr_m2", "tilstandsgrad"])
    # the cost change is in the same family as the cost level: only two different things
    assert list(zip(things["slags"], things["noegletal"])) == [("niveau", "driftsudgift_pr_m2"), ("niveau", "tilstandsgrad")]


def test_materiality_floor_keeps_tiny_spreads_from_looking_large(tmp_path):
    rows = [{"kommunekode": k, "noegletal": "administration_pr_m2", "taeller": t, "naevner": 1000}
            for k, t in ((101, 15_500), (147, 15_000), (157, 15_000), (159, 15_000))]
    with Store(tmp_path / "m.duckdb") as s:
        s.replace_tables({"noegletal": mart_rows(rows)})
        cand = benchmark.look_into_candidates(s, 101, "2026Q2", PEERS, ["administration_pr_m2"])
    # MAD 0 and standard deviation 0,2165: the floor 5 % of the median (15) = 0,75 counts instead
    assert cand["score"].iloc[0] == pytest.approx(0.5 / 0.75)


def test_quality_candidate(tmp_path):
    counts = {101: (10, 1, 2), 147: (10, 0, 3), 157: (20, 0, 1), 159: (10, 0, 0)}  # buildings, fejl, advarsler
    facts = pd.DataFrame([{"kommunekode": k, "bygning_id": f"B{i}", "periode": "2026Q2", "vindue": "kvartal"}
                          for k, (n, _, _) in counts.items() for i in range(n)])
    fund = pd.DataFrame([{"periode": "2026Q2", "kommunekode": k, "alvor": alvor}
                         for k, (_, f, a) in counts.items() for alvor in ["fejl"] * f + ["advarsel"] * a])
    with Store(tmp_path / "m.duckdb") as s:
        s.replace_tables({"noegletal": mart(), "bygningsfakta": facts, "fund": fund})
        blocking = benchmark._quality_candidates(s, 101, "2026Q2")
        warnings = benchmark._quality_candidates(s, 147, "2026Q2")
        none = benchmark._quality_candidates(s, 159, "2026Q2")
    assert blocking[0]["score"] == np.inf and blocking[0]["begrundelse"].startswith("1 blokerende datafejl")
    assert "Desuden 2 advarsler." in blocking[0]["begrundelse"]
    # warnings per 100 buildings 20, 30, 5, 0: median 12,5, MAD 10
    assert warnings[0]["score"] == pytest.approx((30 - 12.5) / (1.4826 * 10))
    assert warnings[0]["begrundelse"].startswith("3 advarsler om datakvaliteten i kvartalet: 30,0 pr. 100 bygninger mod 12,5")
    assert none == []


def test_pick_things_rules():
    def cands(rows):
        return pd.DataFrame(rows, columns=["slags", "noegletal", "familie", "score", "begrundelse"])

    picked = benchmark.pick_things(cands([
        ("niveau", "driftsudgift_pr_m2", "driftsudgift_pr_m2", 2.0, "b"),
        ("niveau", "rengoering_pr_m2", "driftsudgift_pr_m2", 1.5, "c"),  # same family as b
        ("datakvalitet", None, None, np.inf, "a"),
        ("udvikling", "energi_kwh_pr_m2", "energi_kwh_pr_m2", 1.0, "d"),
        ("niveau", "areal_pr_bruger", "areal_pr_bruger", 0.5, "e"),
    ]))
    assert picked["begrundelse"].tolist() == ["a", "b", "d"]
    picked = benchmark.pick_things(cands([
        ("niveau", "n1", "n1", 3.0, "n1"), ("niveau", "n2", "n2", 2.0, "n2"), ("niveau", "n3", "n3", 1.0, "n3"),
        ("udvikling", "u1", "u1", 0.5, "u1"),
    ]))
    assert picked["begrundelse"].tolist() == ["n1", "n2", "u1"]  # at most two of a kind
    picked = benchmark.pick_things(cands([
        ("niveau", "n1", "n1", -0.2, "n1"), ("niveau", "n2", "n2", -1.0, "n2"), ("udvikling", "u1", "u1", -0.1, "u1"),
        ("udvikling", "u2", "u2", -3.0, "u2"),
    ]))
    assert picked["begrundelse"].tolist() == ["u1", "n1", "n2"]  # nothing worse: the least good, still three


# -- api additions -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mart_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("api_rapporter") / "mart.duckdb"
    fixtures_mart.computed_store(path).close()
    return path


def test_round_peer_sets_findings_excluded_groups(mart_db):
    with api.open_mart(mart_db) as mart:
        sets = mart.round_peer_sets(101, "2026Q1", "naermeste", antal=5)
        assert (sets[0].id, sets[0].kommunekoder) == ("naermeste_1", (147,))  # only one other member
        assert mart.round_peer_sets(101, "2026Q1", "kommunegruppe")[0].id == "kommunegruppe_1"
        assert mart.round_peer_sets(101, "2026Q1", "alle")[0].id == "alle"
        with pytest.raises(api.MartError, match="Ukendt sammenligningsmetode"):
            mart.round_peer_sets(101, "2026Q1", "tilfaeldig")
        assert mart.municipality_names()[101] == "København"

        fund = mart.findings("2025Q2", kommunekode=101)
        assert fund[["kommune", "bygning_id", "regel_titel", "alvor"]].to_dict("records") == [
            {"kommune": "København", "bygning_id": "A", "regel_titel": "Spring fra kvartal til kvartal", "alvor": "advarsel"}]
        assert len(mart.findings()) == 2

        # E (147) has a blocking finding in 2025Q1: out of kvartal 2025Q1 and loebende_aar 2025Q4
        out = mart.excluded("2025Q4")
        assert out[["kommune", "bygning_id", "fund_periode", "regel", "regel_titel", "kolonne"]].to_dict("records") == [
            {"kommune": "Frederiksberg", "bygning_id": "E", "fund_periode": "2025Q1", "regel": "enhed_1000",
             "regel_titel": "Forkert enhed (faktor 1.000)", "kolonne": "varme_kwh"}]
        assert mart.excluded("2025Q1", vindue="kvartal")["bygning_id"].tolist() == ["E"]
        assert mart.excluded("2026Q1").empty

        groups = mart.groups("2026Q1")
        assert groups.to_dict("records") == [
            {"enhed": "kommunegruppe_1", "kode": 1, "navn": "Hovedstadskommuner", "antal_kommuner": 2}]


def school_facts() -> pd.DataFrame:
    rows = [  # ejendom, bygning, navn, m², brugere
        ("E1", "B1", "Vangskolen, bygning 1", 1000.0, 50.0),
        ("E1", "B2", "Vangskolen, bygning 2", 500.0, None),
        ("E2", "B3", "Nørreskolen", 800.0, 80.0),
        ("E3", "B5", "Bakkeskolen, bygning 1", 600.0, 20.0),
        ("E3", "B6", "Bakkeskolen, bygning 2", 400.0, 20.0),
    ]
    df = pd.DataFrame(rows, columns=["ejendom_id", "bygning_id", "navn", "bruttoareal_m2", "brugere"])
    df = df.assign(kommunekode=101, periode="2026Q2", vindue="loebende_aar", kategori="skole")
    for c in (*model.COST_COLUMNS, *scenarios.AREA_CONSUMPTION):
        df[c] = 100.0
    return df


def test_properties_and_merger_plan():
    props = api.properties(school_facts()).set_index("ejendom_id")
    assert props.loc["E1", "navn"] == "Vangskolen" and props.loc["E2", "navn"] == "Nørreskolen"
    assert props.loc["E1", ["bruttoareal_m2", "brugere", "m2_pr_bruger", "brugere_pr_m2"]].tolist() == [1500, 50, 20, 0.05]
    assert props.loc["E1", "stoerste_bygning"] == "B1" and props.loc["E1", "bygninger"] == ("B1", "B2")
    assert props.loc["E3", ["bruttoareal_m2", "brugere", "m2_pr_bruger"]].tolist() == [1000, 40, 25]
    props = props.reset_index()
    # fewest users per m²: E3 (0,04), then E1 (0,05). Typical m² per user: median(20, 10, 25) = 20.
    # Spare room: E1 1.500 / 20 − 50 = 25, E2 800 / 20 − 80 = −40.
    assert api.pick_merger(props, 1) == {"E3": "E1"}
    assert api.pick_merger(props, 2) == {"E3": "E2", "E1": "E2"}
    with pytest.raises(api.MartError, match="mindst 4 ejendomme"):
        api.pick_merger(props, 3)


def test_property_effects_of_a_merger():
    facts = school_facts()
    scenario = scenarios.close_buildings(facts, 101, ["B5", "B6"], "B1")
    eff = api.property_effects(scenario, facts, ["E3", "E1"]).set_index("ejendom_id")
    assert eff.loc["E3", ["bruttoareal_m2_foer", "brugere_foer", "m2_pr_bruger_foer"]].tolist() == [1000, 40, 25]
    assert eff.loc["E3", "bruttoareal_m2_efter"] == 0 and np.isnan(eff.loc["E3", "brugere_efter"])
    # B1 gets the 40 users; B2 (no users reported) keeps its m² but is not in m² per user
    assert eff.loc["E1", ["bruttoareal_m2_efter", "brugere_efter"]].tolist() == [1500, 90]
    assert eff.loc["E1", "m2_pr_bruger_efter"] == pytest.approx(1000 / 90)


@pytest.mark.parametrize("names, expected", [
    (["Vangskolen (Aarhus), bygning 1", "Vangskolen (Aarhus), bygning 2"], "Vangskolen (Aarhus)"),
    (["Skole A", "Skole B"], "Skole"),
    (["Nørreskolen"], "Nørreskolen"),
    (["Alpha", "Beta"], "Alpha"),
])
def test_common_name(names, expected):
    assert api._common_name(names) == expected


# -- plots -------------------------------------------------------------------------------------------------
def _overlaps(labels) -> bool:
    boxes = [t.get_window_extent() for t in labels if t.get_text()]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_thirty_bars_with_long_names_do_not_overlap():
    plots.setup()
    names = [f"Den integrerede institution Kløverbladet {i} (Ringkøbing-Skjern), bygning {i}" for i in range(30)]
    data = pd.DataFrame({"navn": names, "vaerdi": np.linspace(100, 1300, 30)})
    fig = plots.ranking(data, "Driftsudgift pr. m²", "kr. pr. m²", focus=names[3], reference=700)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert not _overlaps(ax.get_yticklabels()) and not _overlaps(ax.get_xticklabels())
    assert all(t.get_text().count("\n") <= 1 for t in ax.get_yticklabels())  # at most two lines
    assert ax.get_xlabel() == "kr. pr. m²"


def test_large_amounts_are_scaled_and_ticks_distinct():
    plots.setup()
    data = pd.DataFrame({"navn": [f"Bygning {i}" for i in range(10)], "bidrag": np.linspace(850_000, 3_100_000, 10)})
    fig = plots.decomposition(data, "Bidrag", "kr.")
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ax.get_xlabel() == "mio. kr." and len(set(ticks)) == len(ticks) and not _overlaps(ax.get_xticklabels())
    assert fig._suptitle.get_text() == "Bidrag"


def test_trend_axes_start_at_zero_and_grades_use_their_scale():
    plots.setup()
    data = pd.DataFrame({"periode": ["2026Q1", "2026Q2"], "vaerdi": [19.45, 19.5], "b": [19.4, 19.6]})
    ax = plots.trend(data, "Areal pr. bruger", "m² pr. bruger", "Aarhus", "Gruppen", compare="b").axes[0]
    assert ax.get_ylim()[0] == 0 and ax.get_ylabel() == "m² pr. bruger"
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert len(set(ticks)) == len(ticks)
    grade = plots.trends([(data.assign(vaerdi=[2.9, 2.9], b=[3.0, 3.0]), "Tilstandsgrad", "grad 1–5")], "Aarhus",
                         compare="b").axes[0]
    assert grade.get_ylim() == (1.0, 5.0)


def test_gaps_label_each_bar_and_never_print_minus_zero():
    plots.setup()
    data = pd.DataFrame({"navn": ["A", "B"], "afvigelse_pct": [-0.004, 12.34], "bedre": [True, False]})
    ax = plots.gaps(data, "Forskel", unit="%").axes[0]
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == ["+12,3 %", "±0,0 %"]


def test_wrap():
    assert plots.wrap("Kort") == "Kort"
    long = plots.wrap("Den integrerede institution Kløverbladet (Ringkøbing-Skjern), bygning 12 og mere tekst her")
    lines = long.split("\n")
    assert len(lines) == 2 and all(len(line) <= plots.LABEL_WIDTH for line in lines) and lines[1].endswith("…")
    assert re.sub(r"\s+", " ", long).startswith("Den integrerede institution")
