"""Bundled reference data: complete, with provenance, and population is a one-file swap."""

import shutil
from importlib.resources import files

import pytest

from noegletal import reference


def test_municipalities():
    kom = reference.municipalities()
    assert len(kom) == 98 and kom["kommunekode"].is_unique
    assert set(kom["kommunegruppe_kode"]) == {1, 2, 3, 4, 5}
    # group sizes from Danmarks Statistik: 24, 3, 16, 24, 31
    assert kom["kommunegruppe_kode"].value_counts().sort_index().tolist() == [24, 3, 16, 24, 31]
    assert kom["befolkning"].notna().all()
    assert reference.municipality_name(101) == "København"
    with pytest.raises(KeyError):
        reference.municipality_name(999)


def test_bbr_categories():
    assert reference.category_for_code(421) == ("skole", True)
    assert reference.category_for_code(441) == ("dagtilbud", True)
    assert reference.category_for_code(432) == ("plejecenter", True)  # health_elderly_care
    assert reference.category_for_code(321) == ("administration", True)
    assert reference.category_for_code(413) == ("bibliotek", True)
    assert reference.category_for_code(533) == ("idraet", True)
    assert reference.category_for_code(999) == ("oevrige", False)  # valid code, not in the list


def test_degree_days():
    normal = reference.degree_days_normal()
    assert normal.tolist() == [519, 486, 444, 311, 154, 58, 22, 18, 91, 207, 341, 461]
    nat = reference.degree_days_national()
    assert nat[["aar", "maaned"]].duplicated().sum() == 0
    assert nat["maaned"].between(1, 12).all()


def test_provenance_names_every_file():
    text = files("noegletal.reference").joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    for f in files("noegletal.reference").iterdir():
        if f.name.endswith(".csv"):
            assert f"`{f.name}`" in text, f.name


def test_population_is_a_one_file_swap(tmp_path, monkeypatch):
    src = files("noegletal.reference")
    for f in src.iterdir():
        if f.name.endswith(".csv"):
            shutil.copy(f, tmp_path / f.name)
    # a newer FOLK1A extract: same three columns, one more year
    with open(tmp_path / "befolkning.csv", "a", encoding="utf-8") as out:
        out.write("101,2026,667099\n")
    monkeypatch.setattr(reference, "_DIR", tmp_path)
    reference._read.cache_clear()
    try:
        kbh = reference.municipalities().set_index("kommunekode").loc[101]
        assert kbh["befolkning"] == 667099 and kbh["befolkning_aar"] == 2026
    finally:
        reference._read.cache_clear()
