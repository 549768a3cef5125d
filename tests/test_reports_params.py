"""The round file and notebook parameters: validated before anything runs, with Danish messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from noegletal import benchmark, peers
from noegletal.reports import params
from noegletal.reports.params import ParamsError, RoundSettings, load_round_file

ROOT = Path(__file__).resolve().parents[1]
TEST_NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"


def problems_of(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "runde.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError) as info:
        load_round_file(path)
    return info.value.problems


def test_every_round_file_in_params_is_valid_and_named_after_its_period():
    files = sorted((ROOT / "params").glob("*.yaml"))
    assert [f.name for f in files] >= ["2026Q2.yaml"]
    for path in files:
        settings = load_round_file(path)
        assert settings.periode == path.stem


def test_example_round_file_for_the_demo_quarter():
    settings = load_round_file(ROOT / "params" / "2026Q2.yaml")
    assert list(settings.rapporter) == ["kommunerapport", "chefrapport", "temadag", "datakvalitet"]
    assert settings.rapporter["chefrapport"].formater == ["pdf"]
    assert settings.anonymiser is True
    assert set(settings.peer_vaegte) == set(peers.VARIABLES)


def test_empty_round_file_means_defaults(tmp_path):
    path = tmp_path / "tom.yaml"
    path.write_text("# ingen indstillinger\n", encoding="utf-8")
    settings = load_round_file(path)
    assert settings == RoundSettings()
    assert settings.peer_vaegte == peers.DEFAULT_WEIGHTS and settings.benchmark == "peer_median"


def test_bad_round_file_lists_every_problem_with_file_and_field(tmp_path):
    problems = problems_of(
        "periode: 2026Q5\n"
        "medlemmer: [101, abc]\n"
        "peer_metode: tilfaeldig\n"
        "peer_antal: fem\n"
        "peer_vaegte: {befolkning: 1, hoejde: 2}\n"
        "benchmark: bedste\n"
        "anonymiser: ja\n"
        "timeout_s: -1\n"
        "ukendt_felt: 3\n",
        tmp_path,
    )
    where = str(tmp_path / "runde.yaml")
    assert problems == [
        f"{where}: feltet 'periode': '2026Q5' er ikke et kvartal på formen ÅÅÅÅQn, fx 2026Q3",
        f"{where}: feltet 'medlemmer.1': skal være et heltal (fik 'abc')",
        f"{where}: feltet 'peer_metode': skal være en af naermeste, kommunegruppe, alle, klynge (fik 'tilfaeldig')",
        f"{where}: feltet 'peer_antal': skal være et heltal (fik 'fem')",
        f"{where}: feltet 'peer_vaegte': ukendt strukturvariabel hoejde (kendte: befolkning, taethed, kommunegruppe, arealmix)",
        f"{where}: feltet 'benchmark': skal være en af peer_median, peer_value, best_quartile (fik 'bedste')",
        f"{where}: feltet 'anonymiser': skal være true eller false (fik 'ja')",
        f"{where}: feltet 'timeout_s': skal være > 0 (fik -1)",
        f"{where}: feltet 'ukendt_felt': er ikke et kendt felt",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rapporter: {udforsk: {}}", "feltet 'rapporter': 'udforsk' er til interaktiv brug i JupyterLab"),
        ("rapporter: {aarsrapport: {}}", "feltet 'rapporter': ukendt rapport 'aarsrapport' (kendte: kommunerapport,"),
        ("rapporter: {kommunerapport: {formater: [docx]}}",
         "feltet 'rapporter.kommunerapport.formater.0': skal være html eller pdf (fik 'docx')"),
        ("rapporter: {kommunerapport: {farve: blaa}}", "feltet 'rapporter.kommunerapport.farve': er ikke et kendt felt"),
        ("peer_vaegte: {befolkning: 0}", "feltet 'peer_vaegte': vægtene skal være ≥ 0, og mindst én skal være positiv"),
        ("anonymiser: 1", "feltet 'anonymiser': skal være true eller false (fik 1)"),
        ("peer_antal: '5'", "feltet 'peer_antal': skal være et heltal (fik '5')"),
        ("- en liste", "filen skal være en ordbog af indstillinger"),
        ("periode: [", "er ikke gyldig YAML"),
    ],
)
def test_bad_round_file_examples(tmp_path, text, expected):
    problems = problems_of(text + "\n", tmp_path)
    assert len(problems) == 1 and expected in problems[0], problems


def test_missing_round_file(tmp_path):
    with pytest.raises(ParamsError, match="Parameterfilen .* findes ikke"):
        load_round_file(tmp_path / "2026Q2.yaml")


def test_round_file_default_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert params.round_file("2026Q2", None) is None
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "2026Q2.yaml").write_text("anonymiser: true\n")
    assert params.round_file("2026Q2", None) == Path("params/2026Q2.yaml")
    assert params.round_file("2026Q2", Path("andet.yaml")) == Path("andet.yaml")


def test_round_settings_follow_the_analysis_modules():
    # the names a round file may use are the ones peers.py and benchmark.py accept
    assert set(RoundSettings().peer_vaegte) == set(peers.VARIABLES)
    for name in benchmark.BENCHMARKS:
        assert RoundSettings(benchmark=name).benchmark == name


def test_registry():
    assert list(params.REPORTS) == ["kommunerapport", "chefrapport", "temadag", "datakvalitet", "beslutningsoplaeg"]
    standard = [r.name for r in params.REPORTS.values() if r.standard]
    assert standard == ["kommunerapport", "chefrapport", "temadag", "datakvalitet"]
    assert params.REPORTS["kommunerapport"].required() == ("periode", "db", "kommunekode")
    assert params.REPORTS["temadag"].required() == ("periode", "db", "anonymiser")
    assert params.REPORTS["chefrapport"].formater == ("pdf",)
    assert "udforsk" in params.INTERACTIVE and "udforsk" not in params.REPORTS


def test_notebooks_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(params.NOTEBOOKS_ENV, raising=False)
    assert params.notebooks_dir() == ROOT / "notebooks"
    monkeypatch.setenv(params.NOTEBOOKS_ENV, str(tmp_path))
    assert params.notebooks_dir() == tmp_path


def test_declared_parameters_come_from_the_parameters_cell():
    declared = params.declared_parameters(TEST_NOTEBOOKS / "tabel.ipynb")
    assert {n: d.type_name for n, d in declared.items()} == {
        "periode": "str", "db": "str", "kommunekode": "int", "peer_antal": "int",
    }
    assert params.declared_parameters(TEST_NOTEBOOKS / "oversigt.ipynb")["anonymiser"].type_name == "bool"


@pytest.mark.parametrize(
    ("annotation", "default", "expected"),
    [
        ("str", '"x"', "str"),
        ("int", "1", "int"),
        ("None", "1.5", "float"),  # no annotation: the default's type
        ("None", "True", "bool"),
        ("None", "{'a': 1}", "dict"),
        ("list[int]", "[]", "list"),
        ("dict[str, float]", "{}", "dict"),
        ("Optional[int]", "None", None),  # cannot be checked: any value
        ("None", "Path('x')", None),
        ("None", "None", None),
    ],
)
def test_declared_type(annotation, default, expected):
    assert params._declared_type(annotation, default) == expected


def test_check_parameters():
    declared = params.declared_parameters(TEST_NOTEBOOKS / "tabel.ipynb")
    assert params.check_parameters("nb", declared, {"periode": "2026Q2", "kommunekode": 101, "peer_antal": 3}) == []
    assert params.check_parameters("nb", declared, {"peer_antl": 3}) == [
        "nb: ukendt parameter 'peer_antl' — notebooken kender kun periode, db, kommunekode, peer_antal"
    ]
    assert params.check_parameters("nb", declared, {"kommunekode": "101", "peer_antal": True}) == [
        "nb: parameteren 'kommunekode' skal være heltal (int), fik '101' (str)",
        "nb: parameteren 'peer_antal' skal være heltal (int), fik True (bool)",
    ]
    floats = {"x": params.Declared("x", "float")}
    assert params.check_parameters("nb", floats, {"x": 2}) == []  # an int is a fine float


def test_parse_formats():
    assert params.parse_formats("html,pdf") == ("html", "pdf")
    assert params.parse_formats(" PDF ") == ("pdf",)
    with pytest.raises(ParamsError, match="ukendt format docx"):
        params.parse_formats("html,docx")
    with pytest.raises(ParamsError, match="tomt"):
        params.parse_formats(",")
