"""index.html for a round's report folder: every report by municipality and type, in Danish.

Built from the manifest alone. It shows titles, municipality names and links — never data and never
error messages (those can quote a municipality's buildings; they stay in manifest.json for the
coordinator) — so the index can be shared with every member.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from noegletal import formatting
from noegletal.reports import render
from noegletal.reports.params import REPORTS

INDEX = "index.html"
LABELS = {"html": "HTML", "pdf": "PDF"}


def _type_title(entry: dict) -> str:
    """The report type's name, not a title a notebook may have made specific (e.g. to one municipality)."""
    return REPORTS[entry["rapport"]].titel if entry["rapport"] in REPORTS else entry["titel"]


def _row(entry: dict) -> dict:
    files = entry["filer"]
    links = [{"href": files[fmt], "label": LABELS[fmt]} for fmt in ("html", "pdf") if fmt in files]
    return {"titel": _type_title(entry), "links": links, "fejlet": entry["status"] != "ok"}


def index_html(manifest: dict) -> str:
    entries = manifest["rapporter"]
    per_round = [_row(e) for e in entries if e["kommunekode"] is None]
    columns: dict[str, str] = {}  # report type -> column title, in order of appearance
    municipalities: dict[int, dict] = {}
    for e in entries:
        if e["kommunekode"] is None:
            continue
        columns.setdefault(e["rapport"], _type_title(e))
        row = municipalities.setdefault(e["kommunekode"], {"navn": e["kommune"], "kode": e["kommunekode"], "rapporter": {}})
        row["rapporter"][e["rapport"]] = _row(e)
    data_pr = manifest.get("data_pr")
    return render.template("index.html.j2").render(
        css=render.house_css(),
        periode_tekst=formatting.period(manifest["periode"]),
        data_pr_tekst=formatting.datetime(dt.datetime.fromisoformat(data_pr)) if data_pr else "–",
        definitioner_version=manifest["definitioner_version"],
        pakke_version=manifest["pakke_version"],
        opdateret_tekst=formatting.datetime(dt.datetime.fromisoformat(manifest["opdateret"])),
        i_alt=manifest["opsummering"]["i_alt"],
        fejlet=manifest["opsummering"]["fejlet"],
        runden=per_round,
        kolonner=columns,
        kommuner=[municipalities[k] for k in sorted(municipalities)],
    )


def write_index(folder: Path, manifest: dict) -> Path:
    path = folder / INDEX
    path.write_text(index_html(manifest), encoding="utf-8")
    return path
