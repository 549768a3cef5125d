"""The definitions sheet: complete per DESIGN.md, internally consistent, and strict when broken."""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from noegletal import definitions
from noegletal.definitions import DefinitionsError, Expression
from noegletal.model import CATEGORIES, COST_COLUMNS

# Every key figure DESIGN.md lists for the first version of the sheet.
DESIGN_IDS = {
    "areal_pr_indbygger", "areal_pr_bruger", "tomgangsandel_pct", "lejet_areal_andel_pct",
    "driftsudgift_pr_m2", "rengoering_pr_m2", "forsyning_pr_m2", "vedligehold_pr_m2",
    "vedligehold_planlagt_pr_m2", "vedligehold_akut_pr_m2", "teknisk_drift_pr_m2", "administration_pr_m2",
    "husleje_pr_m2", "akut_vedligehold_andel_pct", "driftsudgift_pr_bruger",
    "varme_kwh_pr_m2", "varme_normaliseret_kwh_pr_m2", "el_kwh_pr_m2", "energi_kwh_pr_m2", "vand_m3_pr_m2",
    "tilstandsgrad", "indeklima", "efterslaeb_kr_pr_m2",
}


@pytest.fixture(scope="module")
def defs():
    return definitions.load()


def test_all_design_key_figures_present(defs):
    assert set(defs.ids()) == DESIGN_IDS
    assert defs.version == "2026.1"


def test_every_figure_has_names_units_and_direction(defs):
    for k in defs.noegletal:
        assert k.navn_da and k.navn_en and k.enhed_da and k.enhed_en, k.id
        assert k.retning in {"lavere_er_bedre", "hoejere_er_bedre", "ingen"}


def test_parents_exist_and_children_add_up(defs):
    """A parent's numerator is the sum of its children's numerators over the same denominator."""
    parents = {k.parent for k in defs.noegletal if k.parent}
    assert parents == {"driftsudgift_pr_m2", "vedligehold_pr_m2"}
    for parent_id in parents:
        parent_terms = defs.expression(parent_id, "taeller").sum_terms()
        child_terms = []
        for child in defs.children(parent_id):
            assert child.naevner == defs[parent_id].naevner, child.id
            child_terms += defs.expression(child.id, "taeller").sum_terms()
        assert sorted(child_terms) == sorted(parent_terms), parent_id
    # the operating cost is exactly the seven cost columns of the submission
    assert sorted(defs.expression("driftsudgift_pr_m2", "taeller").sum_terms()) == sorted(COST_COLUMNS)


def test_window_rules_match_column_aggregation(defs):
    flows = {c for c, col in defs.kolonner.items() if col.aggregering == "sum"}
    assert "varme_kwh" in flows and "bruttoareal_m2" not in flows
    assert defs["driftsudgift_pr_m2"].vindue.taeller == "flow"
    assert defs["driftsudgift_pr_m2"].vindue.naevner == "stock"
    assert defs["areal_pr_bruger"].vindue.taeller == "stock"


def test_ranges_have_sources_and_known_categories(defs):
    for k in defs.noegletal:
        for cat, rng in k.intervaller.items():
            assert cat in set(CATEGORIES) | {"standard", "alle"}
            assert rng.min < rng.max and len(rng.kilde) > 10, (k.id, cat)
    # school heat range brackets the published Albertslund levels 117–123 kWh/m²
    r = defs["varme_kwh_pr_m2"].range_for("skole")
    assert r.min < 117 and r.max > 123
    # a category without its own range falls back to `standard`
    assert defs["varme_kwh_pr_m2"].range_for("bibliotek") == defs["varme_kwh_pr_m2"].intervaller["standard"]


def test_category_weather_independent_shares(defs):
    w = defs.w_default()
    assert set(w) == set(CATEGORIES)
    assert w["plejecenter"] == 30  # the published household share
    assert all(0 <= v <= 100 for v in w.values())


def test_areal_pr_indbygger_is_municipality_level_only(defs):
    assert "bygning" not in defs["areal_pr_indbygger"].niveauer
    assert "kategori" not in defs["areal_pr_indbygger"].niveauer


@pytest.mark.parametrize(
    "values, expected",
    [
        ((10.0, None, 5.0), 15.0),  # a missing part counts as not having that cost
        ((None, None, None), None),  # nothing reported -> NULL, never zero
        ((0.0, None, None), 0.0),  # a reported zero stays zero
    ],
)
def test_sum_expression_null_semantics(values, expected):
    expr = Expression("sum(a, b, c)", {"a", "b", "c"})
    con = duckdb.connect()
    got = con.execute(f"SELECT {expr.sql()} FROM (SELECT ?::DOUBLE AS a, ?::DOUBLE AS b, ?::DOUBLE AS c)", list(values)).fetchone()[0]
    assert got == expected


def test_plus_expression_needs_both_parts():
    expr = Expression("a + b", {"a", "b"})
    con = duckdb.connect()
    assert con.execute(f"SELECT {expr.sql()} FROM (SELECT 1.0 AS a, NULL::DOUBLE AS b)").fetchone()[0] is None
    assert con.execute(f"SELECT {expr.sql()} FROM (SELECT 1.0 AS a, 2.0 AS b)").fetchone()[0] == 3.0


def test_evaluate_gives_the_same_floats_as_sql(defs):
    """Expression.evaluate (numpy, used by the group figures) and Expression.sql (DuckDB, used by the mart
    view and the quality checks) agree bit for bit on every expression of the sheet, including missing
    values, zeros and negative numbers, and on the operators the sheet does not use yet."""
    rng = np.random.default_rng(3)
    n = 2000
    columns = sorted(set(defs.kolonner) | {"a", "b", "c"})
    data = {}
    for c in columns:
        x = np.round(rng.normal(50, 100, n), 2)
        x[rng.random(n) < 0.2] = np.nan
        x[rng.random(n) < 0.1] = 0.0
        data[c] = x
    con = duckdb.connect()
    con.register("t", pd.DataFrame(data))
    texts = [defs.expression(k.id, part).text for k in defs.noegletal for part in ("taeller", "naevner")]
    texts += ["a / b", "(a - b) * 2.5 / c", "sum(a, b * c) - 1", "100 * sum(a) / sum(b, c)"]
    for text in texts:
        expr = Expression(text, set(columns))
        got = np.broadcast_to(expr.evaluate(data.__getitem__), (n,))
        sql = con.execute(f"SELECT CAST({expr.sql()} AS DOUBLE) AS x FROM t").df()["x"].to_numpy()
        np.testing.assert_array_equal(got, sql, err_msg=text)


@pytest.mark.parametrize(
    "text, message",
    [
        ("unknown_col / 2", "ukendt kolonne 'unknown_col'"),
        ("a ** 2", "ikke tilladt"),
        ("__import__('os')", "ikke tilladt"),
        ("a +", "kan ikke læse"),
    ],
)
def test_expression_rejects_anything_but_arithmetic(text, message):
    with pytest.raises(ValueError, match=message):
        Expression(text, {"a"})


def _broken_sheet(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load(definitions.DEFAULT_PATH.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "definitioner.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def _figure(raw, kid):
    return next(k for k in raw["noegletal"] if k["id"] == kid)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: _figure(r, "rengoering_pr_m2").update(parent="findes_ikke"), "parent 'findes_ikke' findes ikke"),
        (lambda r: _figure(r, "el_kwh_pr_m2").update(taeller="el_mwh"), "nøgletal 'el_kwh_pr_m2', felt 'taeller': ukendt kolonne 'el_mwh'"),
        (lambda r: _figure(r, "el_kwh_pr_m2").update(vindue={"taeller": "stock", "naevner": "stock"}), "vindue.taeller er 'stock'"),
        (lambda r: r["noegletal"].append(dict(_figure(r, "el_kwh_pr_m2"))), "findes flere gange"),
        (lambda r: _figure(r, "vand_m3_pr_m2")["intervaller"]["standard"].update(min=5, max=1), "noegletal.vand_m3_pr_m2.intervaller.standard"),
        (lambda r: _figure(r, "vand_m3_pr_m2")["intervaller"].update(svoemmehal={"min": 0, "max": 1, "kilde": "xyz abc"}), "ukendte kategorier"),
        (lambda r: r.pop("version"), "version"),
        (lambda r: r["kategorier"].pop("skole"), "kategorier skal være"),
        (lambda r: _figure(r, "el_kwh_pr_m2").update(retning="op"), "noegletal.el_kwh_pr_m2.retning"),
    ],
)
def test_broken_sheet_is_a_clear_error(tmp_path, change, message):
    path = _broken_sheet(tmp_path, change)
    with pytest.raises(DefinitionsError, match=message):
        definitions.load(path)


def test_unreadable_sheet(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("version: [unclosed", encoding="utf-8")
    with pytest.raises(DefinitionsError, match="ikke gyldig YAML"):
        definitions.load(bad)
    with pytest.raises(DefinitionsError, match="findes ikke"):
        definitions.load(tmp_path / "missing.yaml")
