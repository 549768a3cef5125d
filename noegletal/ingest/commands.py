"""The bodies of the ingest commands (`template`, `ingest`, `status`, `graddage import`).

Each returns the exit code (0 ok, 1 invalid input) and prints with the consoles it is given: results to
`console`, problems to `err_console`. User text is printed as plain `Text`, so brackets in a file's
values are never read as rich markup.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from noegletal import model, reference
from noegletal.ingest import (
    IngestResult,
    Problem,
    import_degree_days as _import_degree_days,
    ingest_path,
    round_status,
    write_template,
)
from noegletal.ingest.template import date_da
from noegletal.store import Store

# Per file, problems with the same sheet, column and text are listed one by one up to MAX_SAME; for the
# rest only the rows are listed (up to MAX_ROWS), so a wrong column in a 5,000-row file stays readable.
MAX_SAME = 10
MAX_ROWS = 100


def _error(err_console: Console, message: str) -> None:
    err_console.print(Text.assemble(("Fejl: ", "bold red"), message), soft_wrap=True)


def template(store: Store, kommunekode: int, periode: str, output: Path, console: Console, err_console: Console) -> int:
    try:
        info = write_template(store, kommunekode, periode, output)
    except ValueError as e:
        _error(err_console, str(e))
        return 1
    except OSError as e:
        _error(err_console, f"kan ikke skrive {output}: {e.strerror or e}")
        return 1
    navn = reference.municipality_name(kommunekode)
    source = (f"udfyldt med {info.antal_bygninger} bygninger fra indberetningen for {info.fra_periode}"
              if info.fra_periode else "uden bygninger (kommunen har ikke indberettet før)")
    console.print(Text(f"Skema skrevet: {info.path} – {navn} Kommune, {periode}, {source}. "
                       f"Frist: {date_da(model.deadline(periode))}."), soft_wrap=True)
    return 0


def _print_problems(problems: list[Problem], err_console: Console) -> None:
    seen: Counter = Counter()
    hidden: dict[tuple, list[int | None]] = {}
    for p in problems:
        key = (p.fil, p.ark, p.kolonne, p.problem)
        seen[key] += 1
        if seen[key] > MAX_SAME:
            hidden.setdefault(key, []).append(p.raekke)
            continue
        head = "Advarsel" if p.alvor == "advarsel" else "Fejl"
        text = Text(str(p))
        text.stylize("yellow" if p.alvor == "advarsel" else "red", 0, len(head))
        err_console.print(text, soft_wrap=True)
    for (fil, ark, kolonne, problem), rows in hidden.items():
        where = ", ".join(x for x in (fil, f"ark {ark}" if ark else None, f"kolonne {kolonne}" if kolonne else None) if x)
        listed = ", ".join(str(r) for r in rows[:MAX_ROWS]) + (" …" if len(rows) > MAX_ROWS else "")
        err_console.print(Text(f"  … samme problem i {len(rows)} rækker mere ({where}: {problem}): række {listed}"),
                          soft_wrap=True)


_VERDICT = {
    "gemt": "gemt (revision {revision})",
    "uaendret": "uændret (revision {revision})",
    "afvist": "afvist – intet gemt",
    "gyldig": "gyldig – intet gemt",
}


def ingest(store: Store, paths: list[Path], dry_run: bool, console: Console, err_console: Console) -> int:
    results: list[IngestResult] = []
    for path in paths:
        try:
            result = ingest_path(store, path, dry_run=dry_run)
        except Exception as e:  # noqa: BLE001  never a traceback: an unforeseen failure names the file
            result = IngestResult(str(path), "afvist", errors=[Problem(
                str(path), None, None, None, None,
                f"filen kunne ikke indlæses ({type(e).__name__}: {e})",
                "en gyldig indberetning; hvis fejlen gentager sig, så send filen til den koordinerende analytiker",
            )])
        results.append(result)
        if result.errors or result.warnings:
            head = f"── {result.source}: {len(result.errors)} fejl, {len(result.warnings)} advarsler"
            err_console.print(Text(head, style="bold"), soft_wrap=True)
            _print_problems(result.errors + result.warnings, err_console)
    _print_summary(results, console)
    return 1 if any(r.status == "afvist" for r in results) else 0


def _print_summary(results: list[IngestResult], console: Console) -> None:
    table = Table(title="Indlæsning", title_justify="left")
    table.add_column("Fil", overflow="fold")
    table.add_column("Resultat", no_wrap=True)
    table.add_column("Indberetning", no_wrap=True)
    for name in ("Bygninger", "Fejl", "Advarsler"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in results:
        style = {"afvist": "red", "gemt": "green"}.get(r.status, "")
        table.add_row(
            Text(r.source), Text(_VERDICT[r.status].format(revision=r.revision), style=style),
            f"{r.kommunekode} {r.periode}" if r.kommunekode and r.periode else "",
            str(r.antal_bygninger) if r.status != "afvist" else "", str(len(r.errors)), str(len(r.warnings)),
        )
    console.print(table)
    counts = Counter(r.status for r in results)
    words = {"gemt": "gemt", "uaendret": "uændret (samme indhold som den nyeste revision)",
             "gyldig": "gyldig" if counts["gyldig"] == 1 else "gyldige", "afvist": "afvist"}
    parts = [f"{counts[s]} {words[s]}" for s in ("gemt", "uaendret", "gyldig", "afvist") if counts[s]]
    console.print(Text(", ".join(parts) + "."), soft_wrap=True)


def status(store: Store, periode: str, as_json: bool, console: Console, err_console: Console) -> int:
    try:
        df = round_status(store, periode)
    except ValueError as e:
        _error(err_console, str(e))
        return 1
    frist = model.deadline(periode)
    if as_json:
        records = [
            {k: _json_value(v) for k, v in row.items()} for row in df.to_dict(orient="records")
        ]
        doc = {"periode": periode, "frist": frist.isoformat(), "medlemmer": len(df),
               "modtaget": int(df["modtaget"].sum()), "kommuner": records}
        console.out(json.dumps(doc, ensure_ascii=False, indent=2), highlight=False)
        return 0
    if df.empty:
        console.print(Text(f"Ingen kommuner har indberettet endnu. Frist for {periode}: {date_da(frist)}."), soft_wrap=True)
        return 0
    table = Table(title=f"Indberetninger {periode} – frist {date_da(frist)}", title_justify="left")
    for name in ("Kode", "Kommune", "Modtaget", "Revision", "Indlæst", "Advarsler"):
        table.add_column(name, justify="right" if name in ("Kode", "Revision", "Advarsler") else "left", no_wrap=True)
    for row in df.itertuples():
        table.add_row(
            str(row.kommunekode), Text(row.navn), Text("ja", style="green") if row.modtaget else Text("nej", style="red"),
            "" if pd.isna(row.revision) else str(row.revision),
            "" if pd.isna(row.indlaest) else pd.Timestamp(row.indlaest).strftime("%d-%m-%Y %H:%M"),
            "" if pd.isna(row.advarsler) else str(row.advarsler),
        )
    console.print(table)
    days = int(df["dage_til_frist"].iloc[0])
    when = f"{days} dage til fristen" if days >= 0 else f"fristen er overskredet med {-days} dage"
    console.print(Text(f"{int(df['modtaget'].sum())} af {len(df)} kommuner har indberettet; {when}."), soft_wrap=True)
    return 0


def _json_value(v):
    if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v


def import_degree_days(store: Store, file: Path, console: Console, err_console: Console) -> int:
    result = _import_degree_days(store, file)
    if result.status == "afvist":
        err_console.print(Text(f"── {result.source}: {len(result.errors)} fejl", style="bold"), soft_wrap=True)
        _print_problems(result.errors, err_console)
        console.print(Text(f"{result.source}: afvist – intet gemt."), soft_wrap=True)
        return 1
    console.print(Text(f"{result.source}: {result.antal_maaneder} måneders graddage gemt ({result.fra} – {result.til})."), soft_wrap=True)
    return 0
