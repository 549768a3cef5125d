"""The common data model: the two submission tables, their columns and rules.

One list of `Column` objects per table is the single source of truth; the pandera schemas, the
ingest messages, the questionnaire template and its instructions sheet are all built from it.
Column ids are the headers of the submission files (DESIGN.md, "Submission files").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

import pandas as pd

from noegletal import reference

if TYPE_CHECKING:
    import pandera.pandas as pa

CATEGORIES: tuple[str, ...] = (
    "skole",
    "dagtilbud",
    "plejecenter",
    "administration",
    "kultur",
    "bibliotek",
    "idraet",
    "sundhed",
    "oevrige",
)
OWNERSHIP: tuple[str, ...] = ("ejet", "lejet")
PERIOD_RE = re.compile(r"^(\d{4})Q([1-4])$")
FIRST_BUILD_YEAR = 1600

ColumnType = Literal["int", "text", "number"]


@dataclass(frozen=True)
class Column:
    """One column of a submission table and the rule it must follow."""

    id: str
    type: ColumnType
    required: bool
    description_da: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    allowed: tuple[str, ...] | None = None

    def rule_da(self) -> str:
        """The rule in words, as shown to a user in an error message or the template."""
        kind = {"int": "et heltal", "text": "en tekst", "number": "et tal"}[self.type]
        parts = [kind]
        if self.allowed:
            parts = ["en af: " + ", ".join(self.allowed)]
        if self.min is not None and self.max is not None:
            parts.append(f"mellem {_fmt(self.min)} og {_fmt(self.max)}")
        elif self.min is not None:
            parts.append(f"større end {_fmt(self.min)}" if self.min_exclusive else f"mindst {_fmt(self.min)}")
        if self.unit:
            parts.append(f"i {self.unit}")
        text = " ".join(parts)
        return text if self.required else text + " (må være tom = ikke indberettet)"


def _fmt(x: float) -> str:
    return f"{x:g}".replace(".", ",")


COST_COLUMNS: tuple[str, ...] = (
    "rengoering_kr",
    "forsyning_kr",
    "vedligehold_planlagt_kr",
    "vedligehold_akut_kr",
    "teknisk_drift_kr",
    "administration_kr",
    "husleje_kr",
)

BYGNINGER: tuple[Column, ...] = (
    Column("kommunekode", "int", True, "Kommunekode (3 cifre), fx 101 for København"),
    Column("bygning_id", "text", True, "Bygningens id, entydigt i kommunen (fx BBR-bygnings-UUID eller eget nummer)"),
    Column("ejendom_id", "text", True, "Id for den ejendom, bygningen hører til"),
    Column("navn", "text", True, "Bygningens navn, fx 'Nørreskolen, hovedbygning'"),
    Column("anvendelseskode", "int", True, "BBR-anvendelseskode (byg021), 3 cifre, fx 421 Grundskole", min=100, max=999),
    Column("kategori", "text", False, "Overstyrer kategorien fra BBR-koden", allowed=CATEGORIES),
    Column("opfoerelsesaar", "int", False, "Opførelsesår", min=FIRST_BUILD_YEAR, max=dt.date.today().year),
    Column("bruttoareal_m2", "number", True, "Bruttoareal efter BBR", unit="m²", min=0, min_exclusive=True),
    Column("ejerforhold", "text", True, "Ejet eller lejet", allowed=OWNERSHIP),
    Column(
        "varmeandel_vejruafhaengig_pct",
        "number",
        False,
        "Vejruafhængig andel af varmeforbruget (varmt brugsvand), overstyrer kategoriens standard",
        unit="%",
        min=0,
        max=100,
    ),
)

KVARTAL: tuple[Column, ...] = (
    Column("kommunekode", "int", True, "Kommunekode, samme som i arket bygninger"),
    Column("bygning_id", "text", True, "Bygningens id, skal findes i arket bygninger"),
    Column("periode", "text", True, "Kvartalet, fx 2026Q3"),
    Column("tomt_areal_m2", "number", False, "Tomt (ubenyttet) areal", unit="m²", min=0),
    Column("brugere", "number", False, "Antal brugere (elever, børn, beboere eller ansatte efter kategori)", min=0),
    Column("varme_kwh", "number", False, "Varmeforbrug i kvartalet, målt (ikke graddagekorrigeret)", unit="kWh", min=0),
    Column("el_kwh", "number", False, "Elforbrug i kvartalet", unit="kWh", min=0),
    Column("vand_m3", "number", False, "Vandforbrug i kvartalet", unit="m³", min=0),
    Column("rengoering_kr", "number", False, "Udgift til rengøring i kvartalet", unit="kr.", min=0),
    Column("forsyning_kr", "number", False, "Udgift til forsyning (varme, el, vand) i kvartalet", unit="kr.", min=0),
    Column("vedligehold_planlagt_kr", "number", False, "Planlagt vedligehold i kvartalet", unit="kr.", min=0),
    Column("vedligehold_akut_kr", "number", False, "Akut (uplanlagt) vedligehold i kvartalet", unit="kr.", min=0),
    Column("teknisk_drift_kr", "number", False, "Teknisk drift (service, driftspersonale) i kvartalet", unit="kr.", min=0),
    Column("administration_kr", "number", False, "Ejendomsadministration i kvartalet", unit="kr.", min=0),
    Column("husleje_kr", "number", False, "Husleje for lejede bygninger i kvartalet", unit="kr.", min=0),
    Column("tilstandsgrad", "number", False, "Bygningens tilstandsgrad, 1 (god) til 5 (dårlig)", min=1, max=5),
    Column("indeklima", "number", False, "Indeklima, 1 (godt) til 5 (dårligt)", min=1, max=5),
    Column("efterslaeb_kr", "number", False, "Vedligeholdelsesefterslæb", unit="kr.", min=0),
)

TABLES: dict[str, tuple[Column, ...]] = {"bygninger": BYGNINGER, "kvartal": KVARTAL}

# Who counts as a user (brugere) in each category; shown in the template's instructions.
USERS_BY_CATEGORY: dict[str, str] = {
    "skole": "elever",
    "dagtilbud": "indskrevne børn",
    "plejecenter": "beboere",
    "administration": "ansatte (årsværk)",
    "kultur": "ansatte (årsværk)",
    "bibliotek": "ansatte (årsværk)",
    "idraet": "ansatte (årsværk)",
    "sundhed": "ansatte (årsværk)",
    "oevrige": "ansatte (årsværk)",
}


def column_ids(table: str) -> list[str]:
    return [c.id for c in TABLES[table]]


def parse_period(periode: str) -> tuple[int, int]:
    """'2026Q3' -> (2026, 3). Raises ValueError with a Danish message."""
    m = PERIOD_RE.match(str(periode).strip())
    if not m:
        raise ValueError(f"'{periode}' er ikke et kvartal på formen ÅÅÅÅQn, fx 2026Q3")
    return int(m.group(1)), int(m.group(2))


def period_str(year: int, quarter: int) -> str:
    return f"{year}Q{quarter}"


def shift_period(periode: str, quarters: int) -> str:
    """The period `quarters` quarters after (negative: before) `periode`."""
    y, q = parse_period(periode)
    idx = y * 4 + (q - 1) + quarters
    return period_str(idx // 4, idx % 4 + 1)


def period_months(periode: str) -> list[tuple[int, int]]:
    """The (year, month) pairs of a quarter."""
    y, q = parse_period(periode)
    return [(y, m) for m in range(3 * q - 2, 3 * q + 1)]


def deadline(periode: str) -> dt.date:
    """Submission deadline: the 25th of the second month after the quarter ends (2026Q3 -> 2026-11-25)."""
    y, q = parse_period(periode)
    month = 3 * q + 2
    return dt.date(y + (month - 1) // 12, (month - 1) % 12 + 1, 25)


def _pandera_column(col: Column) -> pa.Column:
    import pandera.pandas as pa

    checks: list[pa.Check] = []
    if col.allowed:
        checks.append(pa.Check.isin(list(col.allowed)))
    if col.min is not None:
        checks.append(pa.Check.gt(col.min) if col.min_exclusive else pa.Check.ge(col.min))
    if col.max is not None:
        checks.append(pa.Check.le(col.max))
    dtype = {"int": "Int64", "text": "string", "number": "Float64"}[col.type]
    return pa.Column(dtype, checks=checks, nullable=not col.required, required=True, coerce=False)


def _schema(table: str) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    cols = {c.id: _pandera_column(c) for c in TABLES[table]}
    if table == "bygninger":
        cols["kommunekode"] = pa.Column("Int64", pa.Check.isin(sorted(reference.municipality_codes())))
        unique = ["kommunekode", "bygning_id"]
    else:
        cols["periode"] = pa.Column("string", pa.Check.str_matches(PERIOD_RE.pattern))
        unique = ["kommunekode", "bygning_id", "periode"]
    return pa.DataFrameSchema(cols, unique=unique, strict=True, name=table)


@cache
def _schemas() -> dict[str, pa.DataFrameSchema]:
    return {table: _schema(table) for table in ("bygninger", "kvartal")}


def __getattr__(name: str):
    """BYGNINGER_SCHEMA, KVARTAL_SCHEMA and SCHEMAS are built on first use: importing pandera takes
    ≈ 0.2 s, which every command paid, also those that never validate a submission."""
    schemas = {"BYGNINGER_SCHEMA": "bygninger", "KVARTAL_SCHEMA": "kvartal"}
    if name in schemas:
        return _schemas()[schemas[name]]
    if name == "SCHEMAS":
        return _schemas()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def empty_frame(table: str) -> pd.DataFrame:
    """An empty table with the model's dtypes."""
    dtypes = {"int": "Int64", "text": "string", "number": "Float64"}
    return pd.DataFrame({c.id: pd.Series(dtype=dtypes[c.type]) for c in TABLES[table]})


def coerce_dtypes(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Cast already-clean values to the model's dtypes (used after parsing, and by the demo)."""
    dtypes = {"int": "Int64", "text": "string", "number": "Float64"}
    out = df.copy()
    for c in TABLES[table]:
        if c.id in out.columns:
            out[c.id] = out[c.id].astype(dtypes[c.type])
    return out[[c.id for c in TABLES[table] if c.id in out.columns]]
