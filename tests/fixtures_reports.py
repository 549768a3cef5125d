"""A small round for the report notebooks: the demo with 4 municipalities and 5 quarters, computed.

`noegletal demo --municipalities 4 --quarters 5 --seed 7` gives København (101), Slagelse (330),
Svendborg (479) and Odder (727) with 2025Q2–2026Q2: two rolling years, so every report has a
value, a previous quarter and peers, but no value a year before (the reports must say so rather than
fail). The whole thing is deterministic (fixed seed).

`execute(name, params)` runs a notebook the way the batch runner does (papermill parameters,
nbclient, working directory notebooks/) and can make the figures SVG with their text kept as text,
so tests can read figure labels.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
from papermill.parameterize import parameterize_notebook
from typer.testing import CliRunner

from noegletal.cli import app
from noegletal.store import Store

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PERIODE = "2026Q2"
MEMBERS = (101, 330, 479, 727)
# Figures as SVG with <text> elements instead of paths: figure labels become searchable text.
SVG_TEXT = (
    "import matplotlib\n"
    "matplotlib.rcParams['svg.fonttype'] = 'none'\n"
    "%config InlineBackend.figure_formats = ['svg']"
)


def build_db(path: Path) -> Path:
    """The demo round, ingested and computed, through the command line."""
    runner = CliRunner()
    for args in (["demo", "--municipalities", "4", "--quarters", "5", "--seed", "7"], ["compute"]):
        result = runner.invoke(app, ["--db", str(path), *args])
        assert result.exit_code == 0, result.output
    return path


def building_names(db: Path) -> dict[int, set[str]]:
    """Every building name ever submitted, per municipality (all quarters and revisions)."""
    with Store(db, read_only=True) as store:
        df = store.query("SELECT DISTINCT kommunekode, navn FROM bygninger WHERE navn IS NOT NULL")
    names: dict[int, set[str]] = {}
    for kode, navn in zip(df["kommunekode"].astype(int), df["navn"]):
        names.setdefault(kode, set()).add(str(navn))
    return names


def municipality_names(db: Path) -> dict[int, str]:
    with Store(db, read_only=True) as store:
        kom = store.municipalities()
    return dict(zip(kom["kommunekode"].astype(int), kom["navn"]))


def execute(name: str, params: dict, svg: bool = False, timeout: int = 300) -> nbformat.NotebookNode:
    """Run notebooks/<name>.ipynb with `params` (as the runner does) and return the executed notebook."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])  # papermill expects every cell to have tags
    nb.metadata.setdefault("papermill", {})
    nb = parameterize_notebook(nb, params, kernel_name="python3", language="python")
    if svg:  # after the imports and plots.setup() of the first code cell after the parameters
        first = next(i for i, c in enumerate(nb.cells)
                     if c.cell_type == "code" and not {"parameters", "injected-parameters"} & set(c.metadata.tags))
        nb.cells.insert(first + 1, new_code_cell(SVG_TEXT, metadata={"tags": []}))
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def output_text(nb: nbformat.NotebookNode) -> str:
    """Everything a reader sees in an executed notebook: markdown cells and all text-like outputs
    (HTML tables, markdown, plain text, SVG figures), HTML entities decoded, whitespace collapsed."""
    parts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            for mime, data in out.get("data", {}).items():
                if mime.startswith("text/") or mime == "image/svg+xml":
                    parts.append(data if isinstance(data, str) else "".join(data))
    return normalise(html.unescape("\n".join(parts)))


def normalise(text: str) -> str:
    """Whitespace collapsed to single spaces: a name broken over two lines (PDF, SVG) still matches."""
    return re.sub(r"\s+", " ", text)


def visible_html(page: str) -> str:
    """A rendered HTML report without its embedded images, entities decoded, whitespace collapsed."""
    page = re.sub(r'src="data:image/[^"]*"', 'src=""', page)
    return normalise(html.unescape(page))


def present(names, text: str) -> list[str]:
    """The names that occur in `text` (sorted)."""
    return sorted(n for n in names if normalise(n) in text)


def present_words(names, text: str) -> list[str]:
    """The names that occur as whole words in `text` (a municipality name inside another word is not one)."""
    return sorted(n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text))
