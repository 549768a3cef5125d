"""Benchmarks on a hand-made mart: rank, peer figure, change, expected value, decomposition, savings.

Operating cost per m² (loebende_aar, 2026Q2), municipality level; the focus is 101, the peers are
147, 157, 159 and 461 (children not listed have no rows, i.e. nothing reported):

| kommune | m²    | rengøring | forsyning | vedligehold | i alt     | kr./m² |
|---------|-------|-----------|-----------|-------------|-----------|--------|
| 101     | 1.000 | 120.000   | 150.000   | 130.000     | 400.000   | 400    |
| 147     | 2.000 | 200.000   | 280.000   | 220.000     | 700.000   | 350    |
| 157     | 1.000 | 150.000   | 80.000    | 70.000      | 300.000   | 300    |
| 159     | 500   | 60.000    | 80.000    | 110.000     | 250.000   | 500    |
| 461     | 4.000 | 400.000   | 600.000   | 440.000     | 1.440.000 | 360    |

Peer figure = 2.690.000 / 7.500 = 358,667; peer median = (350 + 360) / 2 = 355; best quartile =
25th percentile of 300, 350, 360, 500 = 300 + 0,75 × 50 = 337,5.
"""

import numpy as np
import pandas as pd
import pytest

from noegletal import benchmark
from noegletal.peers import PeerSet
from noegletal.store import Store
from fixtures_analysis import mart_rows

DATA = {  # kommune: (m², rengøring, forsyning, vedligehold)
    101: (1000, 120_000, 150_000, 130_000),
    147: (2000, 200_000, 280_000, 220_000),
    157: (1000, 150_000, 80_000, 70_000),
    159: (500, 60_000, 80_000, 110_000),
    461: (4000, 400_000, 600_000, 440_000),
}
PEERS = PeerSet("alle", "Alle medlemskommuner", (147, 157, 159, 461))


def mart() -> pd.DataFrame:
    rows = []
    for k, (m2, reng, fors, vedl) in DATA.items():
        rows += [
            {"kommunekode": k, "noegletal": "driftsudgift_pr_m2", "taeller": reng + fors + vedl, "naevner": m2},
            {"kommunekode": k, "noegletal": "rengoering_pr_m2", "taeller": reng, "naevner": m2},
            {"kommunekode": k, "noegletal": "forsyning_pr_m2", "taeller": fors, "naevner": m2},
            {"kommunekode": k, "noegletal": "vedligehold_pr_m2", "taeller": vedl, "naevner": m2},
        ]
    rows += [
        {"kommunekode": 101, "periode": "2026Q1", "noegletal": "driftsudgift_pr_m2", "taeller": 380_000, "naevner": 1000},
        {"kommunekode": 101, "periode": "2025Q2", "noegletal": "driftsudgift_pr_m2", "taeller": 420_000, "naevner": 1000},
        # 101's buildings; B3 has a blocking error and is not in the group figure
        {"niveau": "bygning", "kommunekode": 101, "enhed": "B1", "kategori": "skole", "noegletal": "driftsudgift_pr_m2",
         "taeller": 250_000, "naevner": 600},
        {"niveau": "bygning", "kommunekode": 101, "enhed": "B2", "kategori": "skole", "noegletal": "driftsudgift_pr_m2",
         "taeller": 150_000, "naevner": 400},
        {"niveau": "bygning", "kommunekode": 101, "enhed": "B3", "kategori": "skole", "noegletal": "driftsudgift_pr_m2",
         "taeller": 999_000, "naevner": 10, "udeladt": True, "udeladt_aarsag": "fejl"},
        # another municipality's building with the same id must never show up
        {"niveau": "bygning", "kommunekode": 147, "enhed": "B1", "kategori": "skole", "noegletal": "driftsudgift_pr_m2",
         "taeller": 1, "naevner": 1},
    ]
    return mart_rows(rows)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    names = pd.DataFrame({"kommunekode": [101, 101, 147], "bygning_id": ["B1", "B2", "B1"],
                          "navn": ["Nørreskolen", "Sønderskolen", "Fremmed skole"], "periode": "2026Q2",
                          "vindue": "loebende_aar"})
    with Store(tmp_path_factory.mktemp("b") / "b.duckdb") as s:
        s.replace_tables({"noegletal": mart(), "bygningsfakta": names})
        yield s


def test_position_ranks_and_peer_figures(store):
    own_only = PeerSet("x", "Ingen", ())
    pos = benchmark.position(store, 101, "2026Q2", "driftsudgift_pr_m2", [PEERS, own_only])
    row = pos.iloc[0]
    assert row["egen_vaerdi"] == 400
    assert row["gruppe_vaerdi"] == pytest.approx(2_690_000 / 7_500)
    assert row["gruppe_median"] == 355
    # better peers 147 (350), 157 (300), 461 (360); worse 159 (500): rank 4 of 5, better than 1 of 4
    assert (row["placering"], row["ud_af"], row["percentil"], row["antal"]) == (4, 5, 25.0, 4)
    assert pos.iloc[1]["antal"] == 0 and pd.isna(pos.iloc[1]["placering"])


def test_rank_counts_ties_half_and_respects_direction():
    from noegletal.definitions import default

    kf = default()["driftsudgift_pr_m2"]
    assert benchmark._rank(350.0, pd.Series([350.0, 300.0, 500.0]), kf) == (2, 4, 100 * 1.5 / 3)
    neutral = default()["lejet_areal_andel_pct"]
    assert benchmark._rank(1.0, pd.Series([2.0]), neutral) == (None, 2, None)


def test_changes_against_last_quarter_and_last_year(store):
    ch = benchmark.changes(store, 101, "2026Q2", "driftsudgift_pr_m2").set_index("sammenligning")
    assert ch.loc["forrige_kvartal", "periode"] == "2026Q1"
    assert ch.loc["forrige_kvartal", "aendring"] == pytest.approx(20)
    assert ch.loc["forrige_kvartal", "aendring_pct"] == pytest.approx(100 * 20 / 380)
    assert not ch.loc["forrige_kvartal", "bedre"]  # higher cost is worse
    assert ch.loc["samme_kvartal_sidste_aar", "aendring"] == pytest.approx(-20)
    assert ch.loc["samme_kvartal_sidste_aar", "bedre"]
    none = benchmark.changes(store, 147, "2026Q2", "driftsudgift_pr_m2")
    assert none["vaerdi_da"].isna().all() and none["bedre"].isna().all()


@pytest.mark.parametrize("bench, expected", [("peer_median", 355.0), ("peer_value", 2_690_000 / 7_500),
                                             ("best_quartile", 337.5)])
def test_benchmark_values(store, bench, expected):
    assert benchmark.benchmark_value(store, 101, "2026Q2", "driftsudgift_pr_m2", PEERS,
                                     benchmark=bench) == pytest.approx(expected)


def test_decomposition_against_the_peer_figure_adds_up_exactly(store):
    d = benchmark.decompose(store, 101, "2026Q2", "driftsudgift_pr_m2", PEERS, benchmark="peer_value").set_index("noegletal")
    # children on the parent's m²: rengøring 810.000 / 7.500 = 108, forsyning 1.040.000 / 7.500, vedligehold 112
    assert d.loc["rengoering_pr_m2", "forskel"] == pytest.approx(120 - 108)
    assert d.loc["forsyning_pr_m2", "forskel"] == pytest.approx(150 - 1_040_000 / 7_500)
    assert d.loc["vedligehold_pr_m2", "forskel"] == pytest.approx(130 - 112)
    assert d.loc["husleje_pr_m2", "forskel"] == 0  # nobody reported rent
    assert d.loc["rest", "forskel"] == pytest.approx(0, abs=1e-9)
    total = d.loc["driftsudgift_pr_m2", "forskel"]
    assert total == pytest.approx(400 - 2_690_000 / 7_500)
    assert d.drop(index="driftsudgift_pr_m2")["forskel"].sum() == pytest.approx(total)
    assert d.drop(index="driftsudgift_pr_m2")["andel_pct"].sum() == pytest.approx(100)


def test_decomposition_against_the_median_shows_what_medians_cannot_split(store):
    d = benchmark.decompose(store, 101, "2026Q2", "driftsudgift_pr_m2", PEERS).set_index("noegletal")
    # peer medians of the children (kr./m²): rengøring 100, 150, 120, 100 → 110; forsyning 140, 80,
    # 160, 150 → 145; vedligehold 110, 70, 220, 110 → 110. Gaps 10 + 5 + 20 = 35 of the total 45.
    assert d.loc["rengoering_pr_m2", "forskel"] == pytest.approx(10)
    assert d.loc["forsyning_pr_m2", "forskel"] == pytest.approx(5)
    assert d.loc["vedligehold_pr_m2", "forskel"] == pytest.approx(20)
    assert d.loc["driftsudgift_pr_m2", "forskel"] == pytest.approx(45)
    assert d.loc["rest", "forskel"] == pytest.approx(10)
    assert d.drop(index="driftsudgift_pr_m2")["forskel"].sum() == pytest.approx(45)


def test_decomposition_needs_children(store):
    with pytest.raises(benchmark.BenchmarkError, match="ingen underliggende"):
        benchmark.decompose(store, 101, "2026Q2", "el_kwh_pr_m2", PEERS)


def test_building_contributions_are_own_buildings_and_add_up(store):
    b = benchmark.building_contributions(store, 101, "2026Q2", "driftsudgift_pr_m2", 355.0)
    assert b["bygning_id"].tolist() == ["B1", "B2"]  # B3 is left out of group figures
    assert b["navn"].tolist() == ["Nørreskolen", "Sønderskolen"]
    assert b["bidrag"].tolist() == pytest.approx([250_000 - 355 * 600, 150_000 - 355 * 400])
    assert b["bidrag"].sum() == pytest.approx(1000 * (400 - 355))
    assert b["andel_pct"].tolist() == pytest.approx([100 * 37_000 / 45_000, 100 * 8_000 / 45_000])
    # against a benchmark between the two buildings, B2 is better (negative) and B1 is all the excess
    b = benchmark.building_contributions(store, 101, "2026Q2", "driftsudgift_pr_m2", 400.0)
    assert b["andel_pct"].tolist() == pytest.approx([100, 100 * -10_000 / 10_000])
    assert benchmark.building_contributions(store, 101, "2026Q2", "driftsudgift_pr_m2", 355.0, top=1)["bygning_id"].tolist() == ["B1"]


def test_savings_potential(store):
    s = benchmark.savings(store, 101, "2026Q2", "driftsudgift_pr_m2", PEERS)
    assert s["potentiale"] == pytest.approx((400 - 355) * 1000) and s["enhed"] == "kr." and s["note"] is None
    q = benchmark.savings(store, 101, "2026Q2", "driftsudgift_pr_m2", PEERS, benchmark="best_quartile")
    assert q["benchmark_vaerdi"] == 337.5 and q["potentiale"] == pytest.approx(62.5 * 1000)
    best = benchmark.savings(store, 157, "2026Q2", "driftsudgift_pr_m2",
                             PeerSet("alle", "Alle", (101, 147, 159, 461)))
    assert best["potentiale"] == 0 and "allerede" in best["note"]
    with pytest.raises(benchmark.BenchmarkError, match="ingen retning"):
        benchmark.savings(store, 101, "2026Q2", "lejet_areal_andel_pct", PEERS)


def test_clear_errors(store):
    with pytest.raises(benchmark.BenchmarkError, match="Kommune 851 har ingen værdi"):
        benchmark.position(store, 851, "2026Q2", "driftsudgift_pr_m2", [PEERS])
    with pytest.raises(benchmark.BenchmarkError, match="Ukendt nøgletal 'drift'"):
        benchmark.position(store, 101, "2026Q2", "drift", [PEERS])
    with pytest.raises(benchmark.BenchmarkError, match="Ukendt benchmark"):
        benchmark.benchmark_value(store, 101, "2026Q2", "driftsudgift_pr_m2", PEERS, benchmark="bedst")
    with pytest.raises(benchmark.BenchmarkError, match="Ukendt vindue"):
        benchmark.kommune_values(store, "2026Q2", "driftsudgift_pr_m2", vindue="aar")
    with pytest.raises(benchmark.BenchmarkError, match="ingen kommuner"):
        benchmark.benchmark_value(store, 101, "2026Q2", "driftsudgift_pr_m2", PeerSet("x", "Ingen", ()))


def test_expected_value_recovers_known_coefficients():
    n = 20
    i = np.arange(n)
    struct = pd.DataFrame({"andel_skole": np.linspace(0.2, 0.6, n), "gns_bygningsalder": 30.0 + (i * 7) % 20},
                          index=100 + i)
    noise = 0.5 * np.sin(i)  # deterministic, small
    values = pd.Series(100 + 200 * struct["andel_skole"] + 2 * struct["gns_bygningsalder"] + noise, index=struct.index)
    e = benchmark.fit_expected(values, struct, ("andel_skole", "gns_bygningsalder"))
    coef = e.koefficienter.set_index("variabel")["koefficient"]
    assert coef["const"] == pytest.approx(100, abs=2)
    assert coef["andel_skole"] == pytest.approx(200, abs=5)
    assert coef["gns_bygningsalder"] == pytest.approx(2, abs=0.05)
    assert e.n == n and e.r2 > 0.99 and e.note is None
    t = e.tabel
    assert ((t["nedre"] < t["forventet"]) & (t["forventet"] < t["oevre"])).all()
    assert not t["uden_for_interval"].any()
    # a municipality 25 above its structure stands out
    values.iloc[3] += 25
    t = benchmark.fit_expected(values, struct, ("andel_skole", "gns_bygningsalder")).tabel.set_index("kommunekode")
    assert t.loc[103, "uden_for_interval"] and t.loc[103, "forskel"] > 15
    assert t["uden_for_interval"].sum() == 1


def test_expected_value_says_why_when_there_are_too_few_members():
    struct = pd.DataFrame({"andel_skole": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "gns_bygningsalder": [40.0] * 6},
                          index=[101, 147, 157, 159, 461, 751])
    values = pd.Series([300.0, 310, 320, 330, 340, 350], index=struct.index)
    e = benchmark.fit_expected(values, struct, ("andel_skole", "gns_bygningsalder"))
    assert e.tabel["forventet"].isna().all() and e.n == 6
    assert "kræver mindst 8 kommuner" in e.note and "kun 6" in e.note
    assert "bygningsalder" in e.note  # constant: dropped, and said so
    with pytest.raises(benchmark.BenchmarkError, match="Ukendte forklarende"):
        benchmark.fit_expected(values, struct, ("andel_hal",))


def test_mart_methods_wrap_peers_and_benchmarks(tmp_path):
    from noegletal import api

    facts = pd.DataFrame([
        {"kommunekode": k, "bygning_id": b, "navn": n, "kategori": "skole", "periode": "2026Q2", "vindue": w,
         "bruttoareal_m2": m2, "opfoerelsesaar": 1970}
        for k, (m2, *_) in DATA.items()
        for w in ("kvartal", "loebende_aar")
        for b, n in (("B1", "Nørreskolen"), ("B2", "Sønderskolen"))
    ])
    with Store(tmp_path / "m.duckdb") as s:
        s.replace_tables({"noegletal": mart(), "bygningsfakta": facts})
    with api.open_mart(tmp_path / "m.duckdb") as m:
        sets = m.peer_sets(101, "2026Q2", n=2)
        assert [p.id for p in sets] == ["kommunegruppe_1", "naermeste_2", "alle"]
        assert m.position(101, "2026Q2", "driftsudgift_pr_m2").set_index("peer_set").loc["alle", "placering"] == 4
        assert len(m.nearest(101, "2026Q2", n=2)) == 2
        d = m.decompose(101, "2026Q2", "driftsudgift_pr_m2", peer_set="alle").set_index("noegletal")
        assert d.loc["driftsudgift_pr_m2", "forskel"] == pytest.approx(45)
        assert m.savings(101, "2026Q2", "driftsudgift_pr_m2")["potentiale"] == pytest.approx(45_000)
        assert m.building_contributions(101, "2026Q2", "driftsudgift_pr_m2", top=1)["bygning_id"].tolist() == ["B1"]
        assert len(m.scenario_facts(101, "2026Q2")) == 2
        with pytest.raises(api.MartError, match="Ukendt sammenligningsgruppe 'naboer'"):
            m.savings(101, "2026Q2", "driftsudgift_pr_m2", peer_set="naboer")
