"""The command line `noegletal` (DESIGN.md, "Command line").

Thin: each command parses its options, opens the store and calls one function of the library.
Exit codes: 0 success, 1 invalid input (with a clear message), 2 usage error (typer's own).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from noegletal import __version__
from noegletal.store import Store, StoreError, default_db_path

app = typer.Typer(
    name="noegletal",
    help="Nøgletal for kommunale ejendomme: indlæs indberetninger, beregn nøgletal, lav rapporter.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
graddage_app = typer.Typer(help="Graddage: import af faktiske månedlige graddage.", no_args_is_help=True)
app.add_typer(graddage_app, name="graddage")

console = Console()
err_console = Console(stderr=True)


class Context:
    db: Path


state = Context()


def fail(message: str) -> typer.Exit:
    """Print a Danish error message and return the exit for invalid input (code 1)."""
    err_console.print(f"[bold red]Fejl:[/bold red] {message}")
    return typer.Exit(code=1)


def open_store(read_only: bool = False) -> Store:
    try:
        return Store(state.db, read_only=read_only)
    except StoreError as e:
        raise fail(str(e)) from None


def _version(value: bool) -> None:
    if value:
        console.print(f"noegletal {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    db: Annotated[
        Optional[Path],
        typer.Option("--db", help="Databasefil (ellers $NOEGLETAL_DB, ellers data/noegletal.duckdb).", show_default=False),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Vis version og afslut.")
    ] = False,
) -> None:
    state.db = db if db is not None else default_db_path()


@app.command()
def demo(
    municipalities: Annotated[int, typer.Option("--municipalities", min=1, max=98, help="Antal kommuner.")] = 30,
    quarters: Annotated[int, typer.Option("--quarters", min=1, max=80, help="Antal kvartaler.")] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Startværdi for tilfældige tal (samme seed, samme data).")] = 42,
) -> None:
    """Lav en demodatabase med syntetiske indberetninger (med nogle indplantede datafejl)."""
    from noegletal.demo_db import build_demo_database

    if state.db.exists():
        state.db.unlink()
        Path(str(state.db) + ".wal").unlink(missing_ok=True)
    with open_store() as store:
        summary = build_demo_database(store, municipalities, quarters, seed, console=console)
    console.print(summary)


@app.command()
def template(
    kommunekode: Annotated[int, typer.Argument(help="Kommunekode, fx 101.")],
    periode: Annotated[str, typer.Argument(help="Kvartal, fx 2026Q3.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Skemaets filnavn (.xlsx).")],
) -> None:
    """Lav et indberetningsskema (xlsx) for én kommune og ét kvartal, udfyldt med sidste kvartals bygninger."""
    from noegletal.ingest import commands

    with open_store() as store:
        raise typer.Exit(commands.template(store, kommunekode, periode, output, console, err_console))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="xlsx-filer eller mapper med bygninger.csv og kvartal.csv.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Kontrollér kun; gem intet.")] = False,
) -> None:
    """Indlæs indberetninger. Gyldige filer gemmes som ny revision; ugyldige gemmes ikke."""
    from noegletal.ingest import commands

    with open_store() as store:
        raise typer.Exit(commands.ingest(store, paths, dry_run, console, err_console))


@app.command()
def status(
    periode: Annotated[str, typer.Argument(help="Kvartal, fx 2026Q3.")],
    as_json: Annotated[bool, typer.Option("--json", help="Skriv status som JSON.")] = False,
) -> None:
    """Indberetninger pr. kommune for et kvartal: modtaget, revision, advarsler, frist."""
    from noegletal.ingest import commands

    with open_store() as store:
        raise typer.Exit(commands.status(store, periode, as_json, console, err_console))


@graddage_app.command("import")
def graddage_import(
    file: Annotated[Path, typer.Argument(help="CSV med kolonnerne aar,maaned,graddage.")],
) -> None:
    """Tilføj eller erstat faktiske månedlige graddage."""
    from noegletal.ingest import commands

    with open_store() as store:
        raise typer.Exit(commands.import_degree_days(store, file, console, err_console))


@app.command()
def compute() -> None:
    """Beregn nøgletalsmart og datakvalitetsfund for alle kvartaler."""
    from noegletal import compute as compute_mod

    with open_store() as store:
        raise typer.Exit(compute_mod.run(store, console, err_console))


@app.command()
def quality(
    periode: Annotated[Optional[str], typer.Argument(help="Kvartal, fx 2026Q3 (ellers alle).")] = None,
) -> None:
    """Vis datakvalitetsfund (fejlstøvsugning)."""
    from noegletal import quality as quality_mod

    with open_store(read_only=True) as store:
        raise typer.Exit(quality_mod.print_findings(store, periode, console, err_console))


@app.command()
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="Fil: .csv, .xlsx eller .parquet.")],
) -> None:
    """Eksportér nøgletalsmarten i langt format."""
    from noegletal import export as export_mod

    with open_store(read_only=True) as store:
        raise typer.Exit(export_mod.run(store, output, console, err_console))


@app.command()
def reports(
    periode: Annotated[str, typer.Argument(help="Kvartal, fx 2026Q3.")],
    kommune: Annotated[Optional[list[int]], typer.Option("--kommune", help="Kommunekode (kan gentages).")] = None,
    report: Annotated[Optional[list[str]], typer.Option("--report", help="Rapport (kan gentages).")] = None,
    format: Annotated[Optional[str], typer.Option("--format", help="html,pdf")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Parallelle arbejdere.")] = None,
    params: Annotated[Optional[Path], typer.Option("--params", help="Rundens parameterfil (YAML).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Rodmappe for rapporter.")] = Path("reports"),
    renderer: Annotated[str, typer.Option("--renderer", help="nbconvert (standard) eller quarto.")] = "nbconvert",
    executor: Annotated[str, typer.Option("--executor", help="local (standard) eller dask.")] = "local",
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask-scheduler-adresse.")] = None,
) -> None:
    """Lav rapporter for et kvartal i <out>/<periode>/ med index.html og manifest.json."""
    from noegletal.reports import commands

    raise typer.Exit(
        commands.reports(
            db=state.db,
            periode=periode,
            kommuner=kommune or None,
            reports=report or None,
            formats=format,
            workers=workers,
            params_file=params,
            out=out,
            renderer=renderer,
            executor=executor,
            scheduler=scheduler,
            console=console,
            err_console=err_console,
        )
    )


def main() -> None:
    try:
        app()
    except StoreError as e:  # a database problem outside open_store (e.g. a locked file)
        err_console.print(f"[bold red]Fejl:[/bold red] {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
