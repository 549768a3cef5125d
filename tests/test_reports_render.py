"""Rendering an executed notebook: what a reader sees in HTML and PDF (no kernel needed here)."""

from __future__ import annotations

import base64
import io
import re
import shutil
import stat
from pathlib import Path

import matplotlib.figure
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from noegletal.reports import META_MIMETYPE, render

META = {
    "titel": "Kommunerapport",
    "undertitel": "",
    "periode": "2026Q2",
    "kommune": "København",
    "definitioner_version": "2026.1",
    "data_pr": "2026-08-20 09:00:00",
    "pakke_version": "0.1.0",
}


def figure_png() -> bytes:
    fig = matplotlib.figure.Figure(figsize=(4, 3), dpi=100)
    ax = fig.subplots()
    ax.bar(["ejet", "lejet"], [4000, 2000])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def executed_notebook() -> nbformat.NotebookNode:
    """What the runner gets back from nbclient: parameter cells, outputs of every kind."""
    table = pd.DataFrame({"kategori": ["skole", "dagtilbud"], "areal_m2": [1200.5, 800.0]})
    params = new_code_cell('periode = "2026Q1"', metadata={"tags": ["parameters"]})
    injected = new_code_cell('periode = "2026Q2"\nkommunekode = 101', metadata={"tags": ["injected-parameters"]})
    setup = new_code_cell(
        "meta(undertitel='Med æøå')\nprint('hej fra stdout')",
        outputs=[
            new_output("display_data", data={META_MIMETYPE: {"undertitel": "Bygninger i København"}}),
            new_output("stream", name="stderr", text="DeprecationWarning: støj\n"),
            new_output("stream", name="stdout", text="hej fra stdout\n"),
        ],
        execution_count=1,
    )
    text = new_markdown_cell(
        "## Areal pr. kategori\n\nTabellen viser arealet (æ, ø og å). Kilde: [Danmarks Statistik](https://www.dst.dk)."
    )
    tab = new_code_cell(
        "tabel",
        outputs=[
            new_output(
                "execute_result",
                data={"text/html": table.to_html(), "text/plain": table.to_string()},
                execution_count=2,
            )
        ],
        execution_count=2,
    )
    fig = new_code_cell(
        "fig",
        outputs=[
            new_output(
                "display_data",
                data={"image/png": base64.b64encode(figure_png()).decode(), "text/plain": "<Figure size 400x300>"},
            )
        ],
        execution_count=3,
    )
    hidden = new_code_cell(
        "print('hemmelig')",
        metadata={"tags": ["skjul"]},
        outputs=[new_output("stream", name="stdout", text="hemmelig mellemregning\n")],
        execution_count=4,
    )
    silent = new_code_cell("import pandas as pd", execution_count=5)
    allowed_error = new_code_cell(
        "1 / 0",
        metadata={"tags": ["raises-exception"]},
        outputs=[new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                            traceback=["Traceback (most recent call last):", "ZeroDivisionError: division by zero"])],
        execution_count=6,
    )
    cells = [params, injected, setup, text, tab, fig, hidden, silent, allowed_error]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


@pytest.fixture(scope="module")
def rendered():
    clean, nb_meta = render.prepare(executed_notebook())
    meta = {**META, **nb_meta}
    body = render.html_body(clean)
    return clean, meta, body, render.html_page(body, meta)


def test_prepare_keeps_only_what_a_reader_sees():
    clean, nb_meta = render.prepare(executed_notebook())
    assert nb_meta == {"undertitel": "Bygninger i København"}
    sources = [c.source for c in clean.cells]
    assert sources == [
        "meta(undertitel='Med æøå')\nprint('hej fra stdout')",
        clean.cells[1].source,
        "tabel",
        "fig",
    ]
    assert clean.cells[1].cell_type == "markdown"
    assert [o.output_type for o in clean.cells[0].outputs] == ["stream"]  # meta and stderr gone
    assert [c.id for c in clean.cells] == ["celle-1", "celle-2", "celle-3", "celle-4"]


def test_html_has_no_code_prompts_stderr_or_hidden_cells(rendered):
    _, _, _, page = rendered
    for absent in ("kommunekode = 101", "print(", "meta(", "In&nbsp;[", "Out[", "In [", "støj", "hemmelig",
                   "Traceback", "ZeroDivisionError", "jp-InputArea", "No description has been provided"):
        assert absent not in page, absent
    assert "hej fra stdout" in page
    assert "Tabellen viser arealet (æ, ø og å)" in page
    assert "<th>areal_m2</th>" in page


def test_html_embeds_the_figure_as_base64_png(rendered):
    _, _, _, page = rendered
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 1
    assert base64.b64decode(images[0]) == figure_png()


def test_html_loads_nothing_from_outside(rendered):
    _, _, _, page = rendered
    assert "<script" not in page and "<link" not in page and "@import" not in page
    tags_with_urls = re.findall(r"<(\w+)[^>]*\b(?:src|href|data)\s*=\s*[\"']?(?:https?:)?//", page)
    assert tags_with_urls == ["a"]  # only the plain text link the notebook wrote
    assert not re.search(r"url\(\s*[\"']?(?:https?:)?//", page)
    assert '<a href="https://www.dst.dk">Danmarks Statistik</a>' in page


def test_html_header_states_period_municipality_definitions_data_and_version(rendered):
    _, _, _, page = rendered
    assert '<html lang="da">' in page
    assert "<title>Kommunerapport – København – 2. kvartal 2026</title>" in page
    assert "Bygninger i København" in page  # subtitle set by the notebook
    for text in ("2. kvartal 2026", "København", "Definitionsark version 2026.1", "20. august 2026 kl. 09:00",
                 "noegletal 0.1.0"):
        assert text in page, text


def test_html_escapes_header_values():
    page = render.html_page("<p>x</p>", {**META, "titel": "<b>A & B</b>"})
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in page and "<b>A & B</b>" not in page


def test_typst_source_has_real_table_heading_and_figure_file(rendered, tmp_path):
    _, _, body, _ = rendered
    source = render.typst_source(body, tmp_path)
    assert "== Areal pr. kategori" in source
    assert "#table(" in source and "table.header(" in source
    assert "[skole]" in source and "[1200.5]" in source
    assert re.search(r'#align\(center, image\("figur-01\.png", width: 10\.\d\dcm\)\)', source)  # 4 in wide
    assert (tmp_path / "figur-01.png").read_bytes() == figure_png()
    assert "støj" not in source and "hemmelig" not in source


def test_pdf_is_a4_with_cover_metadata_and_deterministic(rendered):
    _, meta, body, page = rendered
    first = render.pdf(body, meta, page=page)
    assert first.startswith(b"%PDF-")
    assert first == render.pdf(body, meta, page=page)  # same input, same bytes (no date in the PDF)
    assert b"/CreationDate" not in first and b"/ModDate" not in first
    assert len(re.findall(rb"/Type\s*/Page\b", first)) == 2  # cover + one page of content
    assert b"/MediaBox[0 0 595.2756 841.8898]" in first.replace(b" ]", b"]")  # A4 in points
    assert re.search(rb"/Subtype\s*/Image", first)  # the figure (plus its alpha mask)
    assert "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">Kommunerapport · København".encode() in first
    assert b"<rdf:li>da-DK</rdf:li>" in first
    assert b"/Title(Areal pr. kategori)" in first  # the heading, in the PDF's outline


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) er ikke installeret")
def test_pdf_text_with_pdftotext(rendered, tmp_path):
    import subprocess

    _, meta, body, page = rendered
    path = tmp_path / "rapport.pdf"
    path.write_bytes(render.pdf(body, meta, page=page))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("Kommunerapport", "2. kvartal 2026", "Areal pr. kategori", "skole", "1200.5", "Side 2 af 2"):
        assert expected in text, expected


def test_pdf_falls_back_to_weasyprint_only_when_installed(rendered, monkeypatch):
    _, meta, body, page = rendered

    def broken(*args, **kwargs):
        import typst

        raise typst.TypstError("testfejl")

    monkeypatch.setattr(render, "_compiler", lambda: type("BrokenCompiler", (), {"compile": staticmethod(broken)})())
    try:
        import weasyprint  # noqa: F401
    except ImportError:
        with pytest.raises(render.RenderError, match="WeasyPrint er ikke installeret"):
            render.pdf(body, meta, page=page)
        with pytest.raises(render.RenderError, match="Typst kunne ikke lave PDF: testfejl"):
            render.pdf(body, meta)
    else:
        assert render.pdf(body, meta, page=page).startswith(b"%PDF-")


def test_quarto_missing_gives_danish_message(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert not render.quarto_available()
    with pytest.raises(render.RenderError, match="Quarto er ikke installeret"):
        render.quarto(executed_notebook(), "html", META)


def test_quarto_is_called_on_the_executed_notebook_without_reexecution(tmp_path, monkeypatch):
    # a stand-in `quarto` that records its arguments and writes the output file quarto would write
    fake = tmp_path / "bin" / "quarto"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > {tmp_path}/args.txt\n'
        'src="$2"; out="${src%.ipynb}.html"\n'
        'grep -q "hej fra stdout" "$src" && echo "<html>ok</html>" > "$out"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    clean, _ = render.prepare(executed_notebook())
    assert render.quarto(clean, "html", META) == b"<html>ok</html>\n"
    args = (tmp_path / "args.txt").read_text()
    assert "--to html --no-execute" in args and "title:Kommunerapport – København" in args and "echo:false" in args


def test_png_width_comes_from_the_png_header():
    assert render._png_width_cm(figure_png()) == pytest.approx(4 * 2.54, abs=0.01)
    assert render._png_width_cm(b"not a png") is None


def test_templates_are_package_data():
    names = {p.name for p in Path(render.TEMPLATES).iterdir()}
    assert {"rapport.html.j2", "rapport.css", "rapport.typ", "index.html.j2"} <= names
