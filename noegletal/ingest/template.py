"""The questionnaire workbook (indberetningsskema) for one municipality and quarter.

Sheets `bygninger` and `kvartal` have the column ids of the data model as header row, are prefilled
with the municipality's buildings from its newest submission up to the quarter, and carry Excel data
validation built from the same column specs that `validate` checks. A `vejledning` sheet explains every
column in Danish. Everything is generated from `noegletal.model`, so the template cannot drift from
the rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.utils import get_column_letter

from noegletal import definitions, model, reference
from noegletal.spreadsheet import new_workbook, safe_cell, set_widths, write_frame
from noegletal.store import Store

# Data validation covers this many rows below the header: far more buildings than any municipality has.
VALIDATION_ROWS = 20000
MONTHS_DA = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
             "november", "december")


@dataclass
class TemplateInfo:
    path: Path
    antal_bygninger: int
    fra_periode: str | None  # the submission the buildings were taken from; None = none before


def date_da(d: dt.date) -> str:
    return f"{d.day}. {MONTHS_DA[d.month - 1]} {d.year}"


def write_template(store: Store, kommunekode: int, periode: str, path: str | Path) -> TemplateInfo:
    """Write the questionnaire workbook. Raises ValueError with a Danish message for bad arguments."""
    path = Path(path)
    model.parse_period(periode)
    if int(kommunekode) not in reference.municipality_codes():
        raise ValueError(f"{kommunekode} er ikke en kommunekode (forventet én af de 98 kommunekoder, fx 751 for Aarhus)")
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"skemaets filnavn skal ende på .xlsx (fik «{path.name}»)")
    kommunekode = int(kommunekode)

    bygninger, fra = _previous_buildings(store, kommunekode, periode)
    kvartal = pd.DataFrame({c: pd.Series([None] * len(bygninger), dtype=object) for c in model.column_ids("kvartal")})
    kvartal["kommunekode"] = kommunekode
    kvartal["bygning_id"] = bygninger["bygning_id"].to_numpy()
    kvartal["periode"] = periode

    wb = new_workbook()
    _instructions(wb, kommunekode, periode, fra, len(bygninger))
    for table, df in (("bygninger", bygninger), ("kvartal", kvartal)):
        ws = write_frame(wb, table, df)
        _data_validation(ws, model.TABLES[table], kommunekode, periode)
    wb.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return TemplateInfo(path, len(bygninger), fra)


def _previous_buildings(store: Store, kommunekode: int, periode: str) -> tuple[pd.DataFrame, str | None]:
    """The buildings of the newest submission up to and including `periode`."""
    rows = store.latest("bygninger", kommunekode=kommunekode)
    rows = rows[rows["indberetning_periode"] <= periode]
    if rows.empty:
        return model.empty_frame("bygninger"), None
    fra = str(rows["indberetning_periode"].max())
    rows = rows[rows["indberetning_periode"] == fra].sort_values("bygning_id")
    return rows[model.column_ids("bygninger")].reset_index(drop=True), fra


def _data_validation(ws, columns: tuple[model.Column, ...], kommunekode: int, periode: str) -> None:
    for i, col in enumerate(columns, start=1):
        dv = _rule_for(col, kommunekode, periode)
        if dv is None:
            continue
        dv.allow_blank = True
        dv.showErrorMessage = True
        dv.showInputMessage = True
        dv.errorTitle = "Ugyldig værdi"
        dv.error = dv.error or f"Forventet: {col.rule_da()}"[:255]
        dv.promptTitle = col.id[:32]
        empty = "Skal udfyldes." if col.required else "Tom celle = ikke indberettet."
        dv.prompt = f"{col.description_da}{f' ({col.unit})' if col.unit else ''}. {empty}"[:255]
        letter = get_column_letter(i)
        dv.add(f"{letter}2:{letter}{VALIDATION_ROWS + 1}")
        ws.add_data_validation(dv)


def _rule_for(col: model.Column, kommunekode: int, periode: str) -> DataValidation | None:
    if col.id == "kommunekode":
        return DataValidation(type="list", formula1=f'"{kommunekode}"')
    if col.id == "periode":
        return DataValidation(type="list", formula1=f'"{periode}"')
    if col.id == "anvendelseskode":
        # A valid code outside the list is allowed (category oevrige, with a warning at ingest),
        # so Excel only warns.
        codes = ",".join(str(c) for c in sorted(reference.bbr_codes()["anvendelseskode"]))
        return DataValidation(
            type="list", formula1=f'"{codes}"', errorStyle="warning",
            error="Koden er ikke i listen over kendte BBR-anvendelseskoder. En anden gyldig 3-cifret kode "
                  "giver kategorien oevrige, medmindre du udfylder kolonnen kategori.",
        )
    if col.allowed:
        return DataValidation(type="list", formula1=f'"{",".join(col.allowed)}"')
    if col.type == "text":
        return None
    kind = "whole" if col.type == "int" else "decimal"
    if col.min is not None and col.max is not None:
        return DataValidation(type=kind, operator="between", formula1=_num(col.min), formula2=_num(col.max))
    if col.min is not None:
        op = "greaterThan" if col.min_exclusive else "greaterThanOrEqual"
        return DataValidation(type=kind, operator=op, formula1=_num(col.min))
    return None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _instructions(wb, kommunekode: int, periode: str, fra: str | None, n: int) -> None:
    ws = wb.create_sheet("vejledning")
    defs = definitions.default()
    navn = reference.municipality_name(kommunekode)
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    def line(*values, font=None) -> None:
        ws.append([safe_cell(v) for v in values])
        for cell in ws[ws.max_row]:
            cell.alignment = wrap
            if font:
                cell.font = font

    line(f"Indberetning til Nøgletalssamarbejdet på ejendomsområdet: {navn} Kommune ({kommunekode}), {periode}",
         font=Font(bold=True, size=14))
    line(f"Frist: {date_da(model.deadline(periode))}. Definitionsark version {defs.version}.")
    line("")
    prefill = (f"Arket bygninger er udfyldt med jeres {n} bygninger fra indberetningen for {fra}. Ret, tilføj eller slet rækker, "
               "så arket viser bygningerne ved kvartalets udgang." if fra else
               "Arket bygninger er tomt: skriv én række pr. bygning, som den er ved kvartalets udgang.")
    for i, text in enumerate([
        prefill,
        "Arket kvartal har én række pr. bygning med kvartalets tal (forbrug og udgifter for kvartalet, "
        "areal og brugere som de er i kvartalet). Bygningen skal også stå i arket bygninger.",
        "En tom celle betyder 'ikke indberettet'. Skriv kun 0, hvis værdien faktisk er 0.",
        "Skriv tal uden enhed og tekst, fx 1234,5 (ikke '1.234 kWh'). Varme og el i kWh, ikke MWh.",
        "Ret ikke kolonneoverskrifterne i række 1, og tilføj ikke kolonner eller rækker over overskrifterne. "
        "Arkene skal hedde bygninger og kvartal.",
        "Én fil = én kommune og ét kvartal. Indsend filen som .xlsx, eller gem de to ark som CSV-filerne "
        "bygninger.csv og kvartal.csv i én mappe.",
        "Kategorien udledes af BBR-anvendelseskoden (se tabellen nederst). Udfyld kun kolonnen kategori, "
        "hvis bygningen bruges til noget andet, end koden siger.",
    ], start=1):
        line(f"{i}.", text)
    line("")
    line("Kolonner", font=bold)
    line("Ark", "Kolonne", "Skal udfyldes", "Enhed", "Hvad", "Regel", font=bold)
    for table, columns in model.TABLES.items():
        for col in columns:
            line(table, col.id, "ja" if col.required else "nej", col.unit, col.description_da, col.rule_da())
    line("")
    line("Hvem tæller som brugere (kolonnen brugere), og standard for vejruafhængig varmeandel", font=bold)
    line("Kategori", "Navn", "Brugere", "Vejruafhængig andel af varmen (standard)", font=bold)
    for cat in model.CATEGORIES:
        info = defs.kategorier[cat]
        line(cat, info.navn_da, model.USERS_BY_CATEGORY[cat], f"{model._fmt(info.w_pct)} %")
    line("")
    line("BBR-anvendelseskoder og kategorier (en anden gyldig 3-cifret kode giver kategorien oevrige)", font=bold)
    line("Kode", "Tekst", "Kategori", font=bold)
    for row in reference.bbr_codes().sort_values("anvendelseskode").itertuples():
        line(row.anvendelseskode, row.tekst_da, row.kategori)
    set_widths(ws, [16, 34, 14, 12, 60, 50])
