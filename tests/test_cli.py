"""The command line's global behaviour and the demo command (DESIGN.md, "Command line")."""

from typer.testing import CliRunner

from noegletal import __version__
from noegletal.cli import app
from noegletal.store import Store

runner = CliRunner()


def _text(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def _demo(db, seed=1):
    return runner.invoke(app, ["--db", str(db), "demo", "--municipalities", "3", "--quarters", "4", "--seed", str(seed)])


def test_demo_builds_a_database_through_ingest(tmp_path):
    result = _demo(tmp_path / "d.duckdb")
    assert result.exit_code == 0, result.output
    assert "3 kommuner, 4 kvartaler (2025Q3–2026Q2)" in _text(result)
    with Store(tmp_path / "d.duckdb", read_only=True) as s:
        subs = s.submissions()
        assert len(subs) == 12 and (subs["revision"] == 1).all()
        assert subs["kildefil"].str.startswith("demo/").all()
        # the demo quarters have no published degree days: synthetic ones, marked as such
        series = s.degree_days().query("aar >= 2025")["serie"]
        assert set(series) == {"syntetisk"}
        assert len(s.table("demo_plantede_fejl")) > 0


def test_demo_is_deterministic_for_a_seed(tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert _demo(tmp_path / f"{name}.duckdb", seed).exit_code == 0
    sums = {}
    for name in "abc":
        with Store(tmp_path / f"{name}.duckdb", read_only=True) as s:
            sums[name] = s.submissions()[["kommunekode", "periode", "kontrolsum"]].values.tolist()
    assert sums["a"] == sums["b"]
    assert sums["a"] != sums["c"]


def test_demo_replaces_an_existing_database(tmp_path):
    assert _demo(tmp_path / "d.duckdb").exit_code == 0
    assert _demo(tmp_path / "d.duckdb").exit_code == 0
    with Store(tmp_path / "d.duckdb", read_only=True) as s:
        assert len(s.submissions()) == 12


def test_db_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NOEGLETAL_DB", str(tmp_path / "env.duckdb"))
    result = runner.invoke(app, ["demo", "--municipalities", "2", "--quarters", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env.duckdb").exists()


def test_version_and_usage_errors():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    assert runner.invoke(app, ["demo", "--municipalities", "0"]).exit_code == 2
    assert runner.invoke(app, ["findes-ikke"]).exit_code == 2


def test_reading_a_missing_database_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["--db", str(tmp_path / "none.duckdb"), "quality"])
    assert result.exit_code == 1
    assert "findes ikke" in _text(result)
