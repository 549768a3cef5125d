"""The data model: column rules as schemas, periods and deadlines."""

import datetime as dt

import pandas as pd
import pandera.errors
import pytest

from noegletal import model


def _good_bygninger():
    return model.coerce_dtypes(pd.DataFrame({
        "kommunekode": [461], "bygning_id": ["B1"], "ejendom_id": ["E1"], "navn": ["Rådhuset"],
        "anvendelseskode": [321], "kategori": [None], "opfoerelsesaar": [1955], "bruttoareal_m2": [5200.0],
        "ejerforhold": ["ejet"], "varmeandel_vejruafhaengig_pct": [None],
    }), "bygninger")


def test_good_rows_pass():
    model.BYGNINGER_SCHEMA.validate(_good_bygninger())


@pytest.mark.parametrize(
    "column, value",
    [
        ("kommunekode", 999),  # not a municipality
        ("anvendelseskode", 42),  # not 3 digits
        ("kategori", "svoemmehal"),
        ("opfoerelsesaar", 1500),
        ("bruttoareal_m2", 0.0),  # must be > 0
        ("ejerforhold", "udlejet"),
        ("varmeandel_vejruafhaengig_pct", 120.0),
        ("navn", None),  # required
    ],
)
def test_bad_value_fails_on_that_column(column, value):
    df = _good_bygninger()
    df[column] = pd.Series([value], dtype=df[column].dtype)
    with pytest.raises(pandera.errors.SchemaErrors) as err:
        model.BYGNINGER_SCHEMA.validate(df, lazy=True)
    assert set(err.value.failure_cases["column"]) == {column}


def test_duplicate_building_ids_fail():
    df = pd.concat([_good_bygninger(), _good_bygninger()], ignore_index=True)
    with pytest.raises(pandera.errors.SchemaErrors):
        model.BYGNINGER_SCHEMA.validate(df, lazy=True)


@pytest.mark.parametrize("column, value", [("tilstandsgrad", 0.0), ("indeklima", 6.0), ("el_kwh", -1.0), ("periode", "2026-Q3")])
def test_bad_quarter_values(column, value):
    df = pd.DataFrame({c: [None] for c in model.column_ids("kvartal")}).assign(kommunekode=461, bygning_id="B1", periode="2026Q3")
    df[column] = value
    df = model.coerce_dtypes(df, "kvartal")
    with pytest.raises(pandera.errors.SchemaErrors):
        model.KVARTAL_SCHEMA.validate(df, lazy=True)


def test_empty_optional_cells_are_null_not_zero():
    df = pd.DataFrame({c: [None] for c in model.column_ids("kvartal")}).assign(kommunekode=461, bygning_id="B1", periode="2026Q3")
    out = model.KVARTAL_SCHEMA.validate(model.coerce_dtypes(df, "kvartal"))
    assert out["varme_kwh"].isna().all()


def test_periods_and_deadlines():
    assert model.parse_period("2026Q3") == (2026, 3)
    with pytest.raises(ValueError, match="ÅÅÅÅQn"):
        model.parse_period("2026-3")
    assert model.shift_period("2026Q1", -1) == "2025Q4"
    assert model.shift_period("2025Q4", 4) == "2026Q4"
    assert model.period_months("2026Q3") == [(2026, 7), (2026, 8), (2026, 9)]
    # DESIGN.md: 25 Feb/May/Aug/Nov; 2026Q3 -> 2026-11-25
    assert model.deadline("2026Q3") == dt.date(2026, 11, 25)
    assert model.deadline("2026Q4") == dt.date(2027, 2, 25)
    assert model.deadline("2026Q1") == dt.date(2026, 5, 25)
    assert model.deadline("2026Q2") == dt.date(2026, 8, 25)


def test_rule_text_is_danish():
    col = next(c for c in model.BYGNINGER if c.id == "bruttoareal_m2")
    assert col.rule_da() == "et tal større end 0 i m²"
    col = next(c for c in model.KVARTAL if c.id == "tilstandsgrad")
    assert "mellem 1 og 5" in col.rule_da() and "tom" in col.rule_da()
