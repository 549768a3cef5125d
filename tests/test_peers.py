"""Peer sets: structure, nearest neighbours on a hand-checkable example, groups, clusters, errors."""

import math

import pandas as pd
import pytest

from noegletal import peers
from noegletal.store import Store


def facts(mix: dict[int, dict[str, float]], periode="2026Q2", year=1970) -> pd.DataFrame:
    """One building per municipality and category with the given m² (kvartal window)."""
    rows = []
    for kommune, cats in mix.items():
        for i, (kategori, m2) in enumerate(cats.items()):
            rows.append({"kommunekode": kommune, "bygning_id": f"B{i}", "kategori": kategori, "periode": periode,
                         "vindue": "kvartal", "bruttoareal_m2": float(m2), "opfoerelsesaar": year + i})
    return pd.DataFrame(rows)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "p.duckdb") as s:
        yield s


# Four capital-area municipalities with known area: 101, 147, 157, 159 (kommunegruppe 1), and
# Odense 461 (kommunegruppe 2).
MIX = {
    101: {"skole": 1000},                     # A: only schools
    147: {"skole": 500, "dagtilbud": 500},    # B: half and half
    157: {"dagtilbud": 1000},                 # C: only day care
    159: {"dagtilbud": 1000},                 # D: like C
    461: {"skole": 900, "dagtilbud": 100},
}


def test_structure_has_shares_size_age_and_density(store):
    store.replace_tables({"bygningsfakta": facts(MIX)})
    s = peers.structure(store, "2026Q2")
    assert list(s.index) == [101, 147, 157, 159, 461]
    assert s.loc[147, "andel_skole"] == 0.5 and s.loc[147, "andel_dagtilbud"] == 0.5 and s.loc[147, "andel_idraet"] == 0
    assert s.loc[147, "gns_bygningsstoerrelse_m2"] == 500
    # area-weighted age in 2026: buildings from 1970 and 1971, 500 m² each
    assert s.loc[147, "gns_bygningsalder"] == pytest.approx(55.5)
    assert s.loc[101, "taethed"] == pytest.approx(591481 / 86.6)
    assert s.loc[101, "kommunegruppe_kode"] == 1 and s.loc[461, "kommunegruppe_kode"] == 2


def test_nearest_on_area_mix_by_hand(store):
    store.replace_tables({"bygningsfakta": facts({k: MIX[k] for k in (101, 147, 157)})})
    only_mix = {"befolkning": 0, "taethed": 0, "kommunegruppe": 0, "arealmix": 1}
    d = peers.distances(store, 101, "2026Q2", only_mix)
    # skole shares 1, .5, 0: z = ±1.2247, 0 (sd = sqrt(1/6)); dagtilbud mirrored; 7 shares constant.
    # Each share weighs 1/9: d(A,B)² = (1.5 + 1.5)/9 = 1/3, d(A,C)² = (6 + 6)/9 = 4/3.
    assert d["kommunekode"].tolist() == [147, 157]
    assert d["afstand"].tolist() == pytest.approx([math.sqrt(1 / 3), math.sqrt(4 / 3)])
    assert peers.nearest(store, 101, "2026Q2", n=1, weights=only_mix) == [147]


def test_nearest_on_population_only(store):
    store.replace_tables({"bygningsfakta": facts(MIX)})
    only_pop = {"befolkning": 1, "taethed": 0, "kommunegruppe": 0, "arealmix": 0}
    # populations: 101 591.481, 147 104.481, 157 75.350, 159 67.914, 461 198.972
    assert peers.nearest(store, 157, "2026Q2", n=4, weights=only_pop) == [159, 147, 461, 101]


def test_density_is_used_when_all_areas_are_known_and_left_out_otherwise(store):
    store.replace_tables({"bygningsfakta": facts(MIX)})
    d = peers.distances(store, 101, "2026Q2")
    assert d.attrs["variabler"] == ["befolkning", "taethed", "kommunegruppe", "arealmix"]
    assert d.attrs["note"] is None
    store.replace_tables({"bygningsfakta": facts({**MIX, 151: {"skole": 800}})})  # Ballerup: area unknown
    d = peers.distances(store, 101, "2026Q2")
    assert "taethed" not in d.attrs["variabler"]
    assert "kendes kun for 5 af de 6 kommuner" in d.attrs["note"]


def test_weights_change_the_answer(store):
    store.replace_tables({"bygningsfakta": facts(MIX)})
    by_group = peers.nearest(store, 147, "2026Q2", n=2, weights={"befolkning": 0, "taethed": 0, "arealmix": 0})
    assert set(by_group) <= {101, 157, 159}  # same kommunegruppe, distance 0
    by_mix = peers.nearest(store, 147, "2026Q2", n=1, weights={"befolkning": 0, "taethed": 0, "kommunegruppe": 0})
    assert by_mix == [461]  # 90/10 is closer to 50/50 than 100/0 or 0/100


def test_kommunegruppe_members_are_members_with_data(store):
    store.replace_tables({"bygningsfakta": facts(MIX)})
    assert peers.kommunegruppe_members(store, 147, "2026Q2") == [101, 147, 157, 159]
    assert peers.kommunegruppe_members(store, 461) == [461]
    with pytest.raises(peers.PeerError, match="ikke en kommunekode"):
        peers.kommunegruppe_members(store, 999)


def test_clusters_are_deterministic_and_numbered_by_smallest_code(store):
    store.replace_tables({"bygningsfakta": facts(MIX)})
    w = {"befolkning": 0, "taethed": 0, "kommunegruppe": 0, "arealmix": 1}
    c = peers.clusters(store, "2026Q2", k=2, seed=1, weights=w)
    assert c.to_dict() == {101: 1, 147: 1, 157: 2, 159: 2, 461: 1}
    assert c.equals(peers.clusters(store, "2026Q2", k=2, seed=1, weights=w))
    with pytest.raises(peers.PeerError, match="mellem 2 og 5"):
        peers.clusters(store, "2026Q2", k=6)


def test_peer_sets_name_themselves_and_leave_out_the_municipality(store):
    store.replace_tables({"bygningsfakta": facts(MIX)})
    sets = peers.peer_sets(store, 147, "2026Q2", n=2, k=2, seed=1,
                           weights={"befolkning": 0, "taethed": 0, "kommunegruppe": 0})
    by_id = {s.id: s for s in sets}
    assert list(by_id) == ["kommunegruppe_1", "naermeste_2", "alle", "klynge_2_1"]
    assert by_id["kommunegruppe_1"].kommunekoder == (101, 157, 159)
    assert "Hovedstadskommuner" in by_id["kommunegruppe_1"].navn_da
    assert by_id["alle"].kommunekoder == (101, 157, 159, 461)
    assert len(by_id["naermeste_2"]) == 2 and 147 not in by_id["naermeste_2"].kommunekoder
    assert 147 not in by_id["klynge_2_1"].kommunekoder


def test_clear_errors(store, tmp_path):
    with pytest.raises(peers.PeerError, match="Kør først 'noegletal compute'"):
        peers.structure(store, "2026Q2")
    store.replace_tables({"bygningsfakta": facts(MIX)})
    with pytest.raises(peers.PeerError, match="Ukendt strukturvariabel 'folketal'"):
        peers.nearest(store, 101, "2026Q2", weights={"folketal": 1})
    with pytest.raises(peers.PeerError, match="≥ 0"):
        peers.nearest(store, 101, "2026Q2", weights={"befolkning": -1})
    with pytest.raises(peers.PeerError, match="Mindst én"):
        peers.nearest(store, 101, "2026Q2", weights=dict.fromkeys(peers.VARIABLES, 0))
    with pytest.raises(peers.PeerError, match="Kommune 851 har ingen bygningsdata"):
        peers.nearest(store, 851, "2026Q2")
    with pytest.raises(peers.PeerError, match="ingen bygningsdata for 2025Q1"):
        peers.structure(store, "2025Q1")
    with pytest.raises(ValueError, match="ÅÅÅÅQn"):
        peers.structure(store, "2026-2")
