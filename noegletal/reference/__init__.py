"""Reference data bundled with the package (see PROVENANCE.md beside this file).

Every loader returns a fresh DataFrame so callers may modify it freely.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

import pandas as pd

_DIR = files(__name__)


@lru_cache(maxsize=None)
def _read(name: str) -> pd.DataFrame:
    with _DIR.joinpath(name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f)


def population() -> pd.DataFrame:
    """Newest population per municipality: columns kommunekode, befolkning, befolkning_aar."""
    pop = _read("befolkning.csv").sort_values(["kommunekode", "aar"])
    newest = pop.groupby("kommunekode", as_index=False).last()
    return newest.rename(columns={"aar": "befolkning_aar"})[["kommunekode", "befolkning", "befolkning_aar"]]


def municipalities() -> pd.DataFrame:
    """The 98 municipalities with region, kommunegruppe and the newest population."""
    kom = _read("kommuner.csv").copy()
    return kom.merge(population(), on="kommunekode", how="left", validate="one_to_one")


def municipality_codes() -> frozenset[int]:
    return frozenset(int(k) for k in _read("kommuner.csv")["kommunekode"])


def municipality_name(kommunekode: int) -> str:
    kom = _read("kommuner.csv")
    hit = kom.loc[kom["kommunekode"] == int(kommunekode), "navn"]
    if hit.empty:
        raise KeyError(f"ukendt kommunekode {kommunekode}")
    return str(hit.iloc[0])


def bbr_codes() -> pd.DataFrame:
    """BBR use codes (byg021) known to the package, with our category id in `kategori`."""
    return _read("bbr_anvendelseskoder.csv").copy()


def category_for_code(code: int) -> tuple[str, bool]:
    """Category id for a 3-digit BBR use code, and whether the code was known.

    A valid code that is not in the list maps to `oevrige` (the caller warns the user).
    """
    codes = _read("bbr_anvendelseskoder.csv")
    hit = codes.loc[codes["anvendelseskode"] == int(code), "kategori"]
    if hit.empty:
        return "oevrige", False
    return str(hit.iloc[0]), True


def degree_days_normal() -> pd.Series:
    """Normal year DF 3112: degree days indexed by month 1-12."""
    df = _read("graddage_normalaar.csv")
    return df.set_index("maaned")["graddage"].astype(float)


def degree_days_national() -> pd.DataFrame:
    """Actual national monthly degree days (aar, maaned, graddage) as bundled."""
    return _read("graddage_national.csv").copy()


def calibration() -> pd.DataFrame:
    """Published plausible levels for Danish/Nordic public buildings, with sources."""
    return _read("kalibrering_noegletal.csv").copy()
