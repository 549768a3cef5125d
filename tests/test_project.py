"""Project hygiene: the install files agree, the README starts right, notebooks are stripped."""

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


# conda-forge names that differ from PyPI's
CONDA_NAMES = {"python-duckdb": "duckdb", "distributed": "dask"}


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["test"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["dask"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    have = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            have |= {_name(d) for d in dep["pip"] if not d.startswith("-e")}
        else:
            have.add(CONDA_NAMES.get(_name(dep), _name(dep)))
    assert wanted <= have, f"mangler i environment.yml: {sorted(wanted - have)}"
    assert have - {"python", "pip"} <= wanted, f"ikke i pyproject.toml: {sorted(have - wanted - {'python', 'pip'})}"


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert first_block == ["make demo", "make test"]


def test_ci_runs_make_test_only():
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[-1] == "make test"


def test_notebooks_are_committed_without_outputs():
    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [] and cell.get("execution_count") is None, nb_path.name


def test_version_is_the_installed_one():
    """pyproject.toml takes the version from noegletal.__version__ (one place)."""
    import importlib.metadata

    import noegletal

    assert noegletal.__version__ == importlib.metadata.version("noegletal")
