"""Render an executed notebook to a self-contained HTML page and to a PDF.

HTML: nbconvert's `basic` template (body only, no code, no prompts) inside our own page
(`templates/rapport.html.j2` + `rapport.css`): no scripts, no CDN, figures as base64 PNG. nbconvert's
full templates load require.js and MathJax from CDNs, so we never use them.

PDF: the same HTML body → pandoc (`pypandoc-binary`, HTML reader) → Typst markup → `typst.compile`
with our A4 template (`templates/rapport.typ`: cover, page numbers, styled table headers). Pandoc
needs image files, so figures are written to a temporary folder. Fonts come from typst's embedded
set plus matplotlib's DejaVu Sans (the figures' font), never from the system, and the document has
no date: the same input gives byte-identical PDF on any machine. WeasyPrint is a fallback used only
when Typst fails and WeasyPrint is installed.

Quarto: `quarto render` on the executed notebook when a `quarto` binary is on PATH (optional).

The header/cover values (`meta`) are the runner's (`Job.meta`), overridden by what the notebook set
with `noegletal.reports.meta(...)`.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import struct
import subprocess
import tempfile
from functools import cache
from importlib.resources import files
from pathlib import Path

import jinja2
import matplotlib
import nbformat
import pypandoc
import typst
from markupsafe import Markup
from nbconvert import HTMLExporter

from noegletal import formatting
from noegletal.reports import META_MIMETYPE

TEMPLATES = files("noegletal.reports").joinpath("templates")
TEXT_WIDTH_CM = 16.0  # A4 (21 cm) minus 2 × 2.5 cm margins, as in rapport.typ
HIDE_TAGS = {"skjul", "parameters", "injected-parameters"}


class RenderError(Exception):
    """A report could not be rendered; the message is Danish and names the step."""


# -- what goes into a report ------------------------------------------------------------------------
def prepare(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, dict[str, str]]:
    """A copy of an executed notebook with only what a reader should see, and the meta it set.

    Drops the parameter cells and cells tagged `skjul`, tracebacks, stderr, the meta display and code
    cells left without output; gives cells fixed ids so the HTML does not depend on random cell ids.
    """
    clean = nbformat.from_dict(nb)
    meta: dict[str, str] = {}
    cells = []
    for cell in clean.cells:
        if HIDE_TAGS & set(cell.metadata.get("tags", [])):
            continue
        if cell.cell_type == "code":
            kept = []
            for out in cell.outputs:
                if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr"):
                    continue  # tracebacks (of a cell allowed to raise) and warnings are not for readers
                if out.output_type in ("display_data", "execute_result") and META_MIMETYPE in out.data:
                    meta.update({k: str(v) for k, v in out.data[META_MIMETYPE].items()})
                    continue
                kept.append(out)
            cell.outputs = kept
            if not kept:
                continue
        cells.append(cell)
    for i, cell in enumerate(cells):
        cell.id = f"celle-{i + 1}"
    clean.cells = cells
    return clean, meta


def display_meta(meta: dict[str, str]) -> dict[str, str]:
    """Header/cover texts in Danish: period as '2. kvartal 2026', data as of as a Danish date-time."""
    shown = dict(meta)
    shown["periode_tekst"] = formatting.period(meta["periode"])
    shown["data_pr_tekst"] = formatting.datetime(dt.datetime.fromisoformat(meta["data_pr"])) if meta.get("data_pr") else "–"
    return shown


# -- HTML -------------------------------------------------------------------------------------------
@cache
def _exporter() -> HTMLExporter:
    return HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
    )


def html_body(clean: nbformat.NotebookNode) -> str:
    """The report's content as an HTML fragment (no head, no scripts)."""
    body, _resources = _exporter().from_notebook_node(clean)
    return body.replace('alt="No description has been provided for this image"', 'alt="Figur"')


@cache
def template(name: str) -> jinja2.Template:
    """A page template from templates/ (autoescaped; a missing value is an error, not an empty string)."""
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return env.from_string(TEMPLATES.joinpath(name).read_text(encoding="utf-8"))


@cache
def house_css() -> Markup:
    return Markup(TEMPLATES.joinpath("rapport.css").read_text(encoding="utf-8"))


def html_page(body: str, meta: dict[str, str]) -> str:
    """A complete, self-contained HTML page: our header, house CSS inline, the body, a footer."""
    return template("rapport.html.j2").render(body=Markup(body), css=house_css(), **display_meta(meta))


# -- PDF via pandoc and Typst -----------------------------------------------------------------------
_DATA_IMAGE = re.compile(r'src="data:image/(png|jpeg);base64,([^"]*)"')


def _png_width_cm(data: bytes) -> float | None:
    """The figure's physical width from the PNG header (pixels and pHYs resolution), if stated."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    width_px = struct.unpack(">I", data[16:20])[0]
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"pHYs":
            per_metre, _, unit = struct.unpack(">IIB", data[pos + 8 : pos + 17])
            return width_px / per_metre * 100 if unit == 1 and per_metre else None
        if kind == b"IDAT":
            return None
        pos += 12 + length
    return None


def typst_source(body: str, folder: Path) -> str:
    """Typst markup for the report body; figures are written into `folder` (pandoc needs files)."""
    counter = 0

    def to_file(match: re.Match) -> str:
        nonlocal counter
        counter += 1
        data = base64.b64decode(match.group(2))
        name = f"figur-{counter:02d}.{'png' if match.group(1) == 'png' else 'jpg'}"
        (folder / name).write_bytes(data)
        natural = _png_width_cm(data)
        width = f"{min(natural, TEXT_WIDTH_CM):.2f}cm" if natural else "100%"
        return f'src="{name}" width="{width}"'

    html = _DATA_IMAGE.sub(to_file, body)
    try:
        # html-native_divs: nbconvert's wrapper divs carry no meaning on paper, drop them
        markup = pypandoc.convert_text(html, "typst", format="html-native_divs", extra_args=["--wrap=none"])
    except (RuntimeError, OSError) as e:
        raise RenderError(f"pandoc kunne ikke omsætte rapporten til Typst: {e}") from e
    # a figure alone in its paragraph: centred block instead of an inline box
    return re.sub(r"^#box\((image\(.*\))\)$", r"#align(center, \1)", markup, flags=re.M)


@cache
def _compiler() -> typst.Compiler:
    """One compiler per process: fonts are loaded once (typst's own + matplotlib's DejaVu)."""
    fonts = typst.Fonts(
        include_system_fonts=False,
        include_embedded_fonts=True,
        font_paths=[str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")],
    )
    return typst.Compiler(font_paths=fonts, ignore_system_fonts=True)


def pdf(body: str, meta: dict[str, str], page: str | None = None) -> bytes:
    """The report as PDF: pandoc → Typst with our A4 template; WeasyPrint on `page` if Typst fails."""
    template = TEMPLATES.joinpath("rapport.typ").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="noegletal-pdf-") as tmp:
        folder = Path(tmp)
        main = folder / "rapport.typ"
        main.write_text(template + "\n#show: rapport.with(..sys.inputs)\n\n" + typst_source(body, folder), encoding="utf-8")
        try:
            return _compiler().compile(input=str(main), root=str(folder), format="pdf", sys_inputs=display_meta(meta))
        except typst.TypstError as e:
            if page is None:
                raise RenderError(f"Typst kunne ikke lave PDF: {e}") from e
            return weasyprint_pdf(page, reason=str(e))


def weasyprint_pdf(page: str, reason: str) -> bytes:
    """Fallback PDF from the HTML page, only when WeasyPrint is installed (it is optional)."""
    try:
        import weasyprint
    except ImportError:
        raise RenderError(
            f"Typst kunne ikke lave PDF ({reason}), og reserven WeasyPrint er ikke installeret "
            "(pip install 'noegletal[pdf-fallback]')."
        ) from None
    return weasyprint.HTML(string=page).write_pdf()


# -- Quarto (optional) ------------------------------------------------------------------------------
QUARTO_MISSING = (
    "Quarto er ikke installeret: der er intet 'quarto'-program på PATH. Installér Quarto "
    "(https://quarto.org) eller brug standardrendereren (--renderer nbconvert)."
)


def quarto_available() -> bool:
    return shutil.which("quarto") is not None


def quarto(clean: nbformat.NotebookNode, fmt: str, meta: dict[str, str]) -> bytes:
    """Render the cleaned, executed notebook with `quarto render` (no re-execution)."""
    exe = shutil.which("quarto")
    if exe is None:
        raise RenderError(QUARTO_MISSING)
    shown = display_meta(meta)
    title = shown["titel"] + (f" – {shown['kommune']}" if shown.get("kommune") else "")
    with tempfile.TemporaryDirectory(prefix="noegletal-quarto-") as tmp:
        src = Path(tmp) / "rapport.ipynb"
        nbformat.write(clean, src)
        target = {"html": "html", "pdf": "typst"}[fmt]
        cmd = [
            exe, "render", str(src), "--to", target, "--no-execute",
            "-M", f"title:{title}", "-M", f"subtitle:{shown['periode_tekst']}", "-M", "echo:false",
            "-M", "lang:da", "-M", "embed-resources:true",
        ]
        done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        out = src.with_suffix(f".{fmt}")
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise RenderError("quarto render fejlede: " + " / ".join(tail))
        return out.read_bytes()
