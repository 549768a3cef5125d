"""Degree-day correction of heat use (graddagekorrektion), as published by Danish district-heating utilities.

    Q_norm = Q * ((100 - w) * GD_normal / GD_actual + w) / 100

Q is the measured heat of a window (a quarter or a rolling year), GD_actual and GD_normal the degree
days summed over the window's months (actual: the store's `graddage` table, whichever series holds
the month; normal: the normal year DF 3112 in `graddage_normal`), and w the weather-independent share
of the heat in percent (hot water): the building's `varmeandel_vejruafhaengig_pct`, else the default of
its category in the definitions sheet.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from noegletal import model

WINDOW_QUARTERS = {"kvartal": 1, "loebende_aar": 4}


class MissingDegreeDaysError(ValueError):
    """Actual degree days are missing for months that heat data needs; the message names the months."""


def _as_float(x) -> np.ndarray:
    """Scalars, numpy arrays and pandas Series (also nullable Float64) as a float array; None/NA -> NaN."""
    if isinstance(x, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        return pd.Series(x).to_numpy(dtype="float64", na_value=np.nan)
    if x is None or x is pd.NA:
        return np.array(np.nan)
    return np.asarray(x, dtype="float64")  # None inside a list or array becomes NaN


def normalise_heat(heat_kwh, gd_actual, gd_normal, w_pct):
    """Degree-day corrected heat: `Q * ((100 - w) * GD_normal / GD_actual + w) / 100`.

    Takes scalars, numpy arrays or pandas Series (broadcast against each other) and returns the same
    kind: a float for scalar input, a Series (with the index of the first Series argument) if any
    argument is a Series, else a numpy array. Missing input (None, NaN, pd.NA) gives NaN.

    Raises ValueError when GD_actual <= 0 for a row that has heat (the correction divides by it), or
    when w is outside 0-100.

    >>> normalise_heat(1000, gd_actual=800, gd_normal=1000, w_pct=20)  # 1000 * (80 * 1.25 + 20) / 100
    1200.0
    """
    args = (heat_kwh, gd_actual, gd_normal, w_pct)
    q, gda, gdn, w = np.broadcast_arrays(*(_as_float(a) for a in args))
    has_heat = ~np.isnan(q)
    bad_gd = has_heat & (gda <= 0)
    if bad_gd.any():
        raise ValueError(
            f"Graddage for perioden skal være større end 0 for at graddagekorrigere varmeforbruget "
            f"(fik {gda[bad_gd].flat[0]:g})."
        )
    bad_w = (w < 0) | (w > 100)
    if bad_w.any():
        raise ValueError(f"Den vejruafhængige varmeandel w skal være mellem 0 og 100 % (fik {w[bad_w].flat[0]:g}).")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(has_heat, q * ((100 - w) * gdn / gda + w) / 100, np.nan)
    series = next((a for a in args if isinstance(a, pd.Series)), None)
    if series is not None:
        return pd.Series(out, index=series.index, name="varme_normaliseret_kwh")
    if out.ndim == 0:
        return float(out)
    return out


def window_months(periode: str, vindue: str) -> list[tuple[int, int]]:
    """The (year, month) pairs of the window `vindue` ending with quarter `periode`."""
    quarters = [model.shift_period(periode, -k) for k in reversed(range(WINDOW_QUARTERS[vindue]))]
    return [m for p in quarters for m in model.period_months(p)]


def window_degree_days(
    source,
    periods: Iterable[str],
    required: Iterable[tuple[str, str]] = (),
) -> pd.DataFrame:
    """Actual and normal degree days summed over each window ending in `periods`.

    `source` is a `Store` (its `graddage` and `graddage_normal` tables) or a frame of actual monthly
    degree days (`aar, maaned, graddage`; the normal year then comes from the bundled reference data).
    Returns one row per period and window (`kvartal`: the quarter's 3 months, `loebende_aar`: the 12
    months of the four quarters ending with it) with columns `periode, vindue, gd_actual, gd_normal,
    mangler`; `gd_actual` is NaN and `mangler` lists the months ("2026-03") when any month is missing.

    `required` holds the (periode, vindue) windows that have heat data: a missing month in one of them
    raises MissingDegreeDaysError naming the months, since heat cannot be corrected without them.
    """
    if isinstance(source, pd.DataFrame):
        from noegletal import reference

        actual, normal = source, reference.degree_days_normal()
    else:
        actual, normal = source.degree_days(), source.degree_days_normal()
    by_month = {(int(a), int(m)): float(g) for a, m, g in zip(actual["aar"], actual["maaned"], actual["graddage"])}
    normal_by_month = {int(m): float(g) for m, g in normal.items()}
    if sorted(normal_by_month) != list(range(1, 13)):
        raise MissingDegreeDaysError("Normalåret (graddage_normal) skal have graddage for alle 12 måneder.")
    rows = []
    for periode in sorted(set(periods)):
        for vindue in WINDOW_QUARTERS:
            months = window_months(periode, vindue)
            missing = [f"{a}-{m:02d}" for a, m in months if (a, m) not in by_month]
            rows.append({
                "periode": periode,
                "vindue": vindue,
                "gd_actual": np.nan if missing else sum(by_month[m] for m in months),
                "gd_normal": float(sum(normal_by_month[m] for _, m in months)),
                "mangler": ", ".join(missing),
            })
    out = pd.DataFrame(rows, columns=["periode", "vindue", "gd_actual", "gd_normal", "mangler"])
    needed = set(required)
    is_needed = np.array([(p, v) in needed for p, v in zip(out["periode"], out["vindue"])], dtype=bool)
    gaps = out[is_needed & (out["mangler"] != "").to_numpy()]
    if len(gaps):
        months = sorted({m for text in gaps["mangler"] for m in text.split(", ")})
        periods_text = ", ".join(sorted(set(gaps["periode"])))
        raise MissingDegreeDaysError(
            f"Der mangler graddage for {', '.join(months)} (bruges til at graddagekorrigere varmeforbruget i "
            f"{periods_text}); importér dem med 'noegletal graddage import FIL.csv' (kolonnerne aar,maaned,graddage)."
        )
    return out
