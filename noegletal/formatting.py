"""Danish number and date formatting for reports: 1.234,5 and 23. november 2026 (dates via babel, da_DK)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date, format_datetime

LOCALE = "da_DK"


def is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(x, decimals: int = 1) -> str:
    """1234.56 -> '1.234,6', -5 -> '−5,0' (a true minus sign). Missing -> '–' (en dash), never '0' or 'nan'.

    Plain string formatting in the Danish convention (thousands '.', decimals ','), rounding half
    away from zero as Excel does; fast enough for the thousands of numbers in a findings list.
    """
    if is_missing(x):
        return "–"
    rounded = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{max(decimals, 0)}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".").replace("-", "\u2212")


def value(x, unit: str = "", decimals: int = 1) -> str:
    """A number with its unit: '123,4 kWh pr. m²'."""
    text = number(x, decimals)
    return f"{text} {unit}".strip() if text != "–" and unit else text


def percent(x, decimals: int = 1) -> str:
    """A share in percent points (12.3 -> '12,3 %')."""
    text = number(x, decimals)
    return text if text == "–" else f"{text}\u00a0%"


def signed(x, unit: str = "", decimals: int = 1) -> str:
    """A change with its sign: '+12,3 %' or '−4,0 kr. pr. m²' (true minus sign)."""
    if is_missing(x):
        return "–"
    sign = "+" if x > 0 else ("−" if x < 0 else "±")
    return f"{sign}{value(abs(x), unit, decimals)}"


def kroner(x, decimals: int = 0) -> str:
    """Amount in DKK: '1.234.567 kr.'."""
    return value(x, "kr.", decimals)


def date(d: dt.date | dt.datetime | None) -> str:
    """'23. november 2026'."""
    if d is None:
        return "–"
    return format_date(d, format="d. MMMM y", locale=LOCALE)


def datetime(d: dt.datetime | None) -> str:
    """'23. november 2026 kl. 14:05'."""
    if d is None:
        return "–"
    return format_datetime(d, format="d. MMMM y 'kl.' HH:mm", locale=LOCALE)


def period(periode: str) -> str:
    """'2026Q3' -> '3. kvartal 2026'."""
    return f"{periode[-1]}. kvartal {periode[:4]}"
