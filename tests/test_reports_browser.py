"""A rendered report and the index opened in a real headless browser (Debian's chromium).

Driven through the DevTools protocol (websocket-client): no console errors or exceptions, no request
leaves the file (no CDN), every figure is decoded and shown (natural width > 0), the page is not blank.
Skips with a visible reason where chromium is missing — except under CI=true, where it fails.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import matplotlib.figure
import matplotlib.image
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from noegletal.reports import index, render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: browsertesten skal køre)")
        pytest.skip(reason)


class Browser:
    """Headless chromium with one page, driven over the DevTools websocket."""

    def __init__(self, profile: Path):
        import websocket

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--window-size=1000,1400", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert time.monotonic() < deadline, "chromium startede ikke"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            page = next(t for t in json.load(response) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                assert "error" not in msg, msg
                return msg["result"]
            self.events.append(msg)

    def open(self, path: Path) -> None:
        self.events.clear()
        self.call("Page.navigate", url=path.as_uri())
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"]["value"]

    def problems(self) -> list[str]:
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"undtagelse: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
                found.append(f"konsol {params['type']}: {params['args']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(f"log: {params['entry']['text']}")
            elif method == "Network.requestWillBeSent" and not params["request"]["url"].startswith(("file:", "data:")):
                found.append(f"ekstern forespørgsel: {params['request']['url']}")
        return found

    def screenshot(self):
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        return matplotlib.image.imread(io.BytesIO(png), format="png")

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require(CHROMIUM is not None, "chromium er ikke installeret (apt-get install chromium)")
    try:
        import websocket  # noqa: F401
    except ImportError:
        require(False, "websocket-client er ikke installeret")
    b = Browser(tmp_path_factory.mktemp("chromium-profil"))
    yield b
    b.close()


def report_page() -> str:
    fig = matplotlib.figure.Figure(figsize=(5, 3), dpi=100)
    ax = fig.subplots()
    ax.bar(["ejet", "lejet"], [4000, 2000], color="#1f4e79")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    table = pd.DataFrame({"ejerforhold": ["ejet", "lejet"], "areal_m2": [4000.0, 2000.0]})
    nb = new_notebook(cells=[
        new_markdown_cell("## Areal pr. ejerforhold\n\nArealet fordelt på ejet og lejet (æ, ø, å)."),
        new_code_cell("tabel", outputs=[new_output("execute_result", data={"text/html": table.to_html()}, execution_count=1)]),
        new_code_cell("fig", outputs=[new_output("display_data", data={"image/png": base64.b64encode(buf.getvalue()).decode()})]),
    ])
    meta = {"titel": "Kommunerapport", "undertitel": "", "periode": "2026Q2", "kommune": "København",
            "definitioner_version": "2026.1", "data_pr": "2026-08-20 09:00:00", "pakke_version": "0.1.0"}
    clean, _ = render.prepare(nb)
    return render.html_page(render.html_body(clean), meta)


def test_report_shows_its_figure_without_errors_or_outside_requests(browser, tmp_path):
    path = tmp_path / "kommunerapport_101.html"
    path.write_text(report_page(), encoding="utf-8")
    browser.open(path)
    assert browser.problems() == []
    images = browser.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.getBoundingClientRect().width])"
    )
    assert len(images) == 1
    complete, natural_width, shown_width = images[0]
    assert complete and natural_width > 0 and shown_width > 0
    assert browser.evaluate("document.querySelector('h1').textContent") == "Kommunerapport"
    assert browser.evaluate("document.querySelectorAll('table th').length") >= 2
    shot = browser.screenshot()
    assert shot[..., :3].std() > 0.05  # not a blank page


def test_index_opens_without_errors_and_links_the_reports(browser, tmp_path):
    (tmp_path / "kommunerapport_101.html").write_text(report_page(), encoding="utf-8")
    manifest = {
        "periode": "2026Q2", "opdateret": "2026-08-21T10:00:00", "pakke_version": "0.1.0",
        "definitioner_version": "2026.1", "data_pr": "2026-08-20 09:00:00",
        "opsummering": {"i_alt": 2, "ok": 1, "fejlet": 1},
        "rapporter": [
            {"id": "kommunerapport_101", "rapport": "kommunerapport", "titel": "Kommunerapport", "kommunekode": 101,
             "kommune": "København", "status": "ok", "filer": {"html": "kommunerapport_101.html"}},
            {"id": "chefrapport_101", "rapport": "chefrapport", "titel": "Chefrapport", "kommunekode": 101,
             "kommune": "København", "status": "fejlet", "filer": {}},
        ],
    }
    path = index.write_index(tmp_path, manifest)
    browser.open(path)
    assert browser.problems() == []
    links = browser.evaluate("Array.from(document.querySelectorAll('a.format')).map(a => a.href)")
    assert links == [(tmp_path / "kommunerapport_101.html").as_uri()]
    assert browser.evaluate("document.querySelector('.fejl').textContent") == "1 fejlede"
    browser.open(tmp_path / "kommunerapport_101.html")  # the link's target opens cleanly too
    assert browser.problems() == []
