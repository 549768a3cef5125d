"""Danish number format in reports: 1.234,5 with units; missing is a dash, never 0 or nan."""

import datetime as dt

import pytest

from noegletal import formatting as f


@pytest.mark.parametrize(
    "x, decimals, expected",
    [(1234.56, 1, "1.234,6"), (0.0, 1, "0,0"), (1234567, 0, "1.234.567"), (0.345, 2, "0,35"), (-1234.5, 0, "\u22121.235"), (None, 1, "–"), (float("nan"), 1, "–")],
)
def test_number(x, decimals, expected):
    assert f.number(x, decimals) == expected


def test_units_signs_and_dates():
    assert f.value(123.44, "kWh pr. m²") == "123,4 kWh pr. m²"
    assert f.value(None, "kWh pr. m²") == "–"
    assert f.kroner(1234567.4) == "1.234.567 kr."
    assert f.signed(-4, "%") == "−4,0 %"
    assert f.signed(2.5, "kr. pr. m²") == "+2,5 kr. pr. m²"
    assert f.percent(12.345) == "12,3\xa0%"
    assert f.period("2026Q3") == "3. kvartal 2026"
    assert f.date(dt.date(2026, 11, 23)) == "23. november 2026"
    assert f.datetime(dt.datetime(2026, 11, 23, 14, 5)) == "23. november 2026 kl. 14:05"
