"""What a batch runs and with which parameters — all validated before any kernel starts.

- `REPORTS`: the registry of report types (one notebook each, `notebooks/<name>.ipynb`).
- `RoundSettings`: the round file `params/<PERIODE>.yaml` (pydantic, strict, unknown keys are errors).
- `declared_parameters()`: the parameters a notebook's `parameters` cell declares (via papermill).
- `plan_batch()`: turns round settings + command-line overrides into a `Batch` of `Job`s, checking
  report names, formats, municipalities (exist and have data for the period) and every notebook
  parameter (declared, right type). All problems are collected and raised together as `ParamsError`.

The round file (every key optional; command-line options override it):

    periode: 2026Q2                   # must equal the command's PERIODE when given
    medlemmer: [101, 147]             # default: every municipality with a submission for the period
    rapporter:                        # default: the registry's standard set
      kommunerapport: {formater: [html]}
      chefrapport: {formater: [pdf]}
      temadag: {parametre: {...}}     # extra notebook parameters, must be declared by the notebook
    peer_metode: naermeste            # naermeste (N most similar) | kommunegruppe | alle | klynge
    peer_antal: 5                     # N for naermeste
    peer_klynger: 4                   # k for klynge (k-means)
    peer_vaegte: {befolkning: 1, taethed: 1, kommunegruppe: 1, arealmix: 1}   # noegletal.peers.VARIABLES
    benchmark: peer_median            # noegletal.benchmark.BENCHMARKS: peer_median | peer_value | best_quartile
    anonymiser: true                  # temadag: Kommune A, B, ...
    workers: 2
    timeout_s: 600                    # per report
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import papermill
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

import noegletal
from noegletal import benchmark, model, peers, reference
from noegletal.definitions import default as default_definitions
from noegletal.store import Store, StoreError

FORMATS: tuple[str, ...] = ("html", "pdf")
NOTEBOOKS_ENV = "NOEGLETAL_NOTEBOOKS"


@dataclass(frozen=True)
class ReportType:
    name: str
    titel: str
    per_kommune: bool  # one report per member municipality, else one per round
    formater: tuple[str, ...]  # default formats
    standard: bool  # part of a round's default batch
    kraevede: tuple[str, ...] = ()  # parameters the notebook must declare besides periode, db (, kommunekode)

    def required(self) -> tuple[str, ...]:
        return ("periode", "db") + (("kommunekode",) if self.per_kommune else ()) + self.kraevede


REPORTS: dict[str, ReportType] = {
    r.name: r
    for r in (
        ReportType("kommunerapport", "Kommunerapport", True, ("html",), True),
        ReportType("chefrapport", "Chefrapport", True, ("pdf",), True),
        ReportType("temadag", "Temadag: tendenser på tværs af kommunerne", False, ("html", "pdf"), True, ("anonymiser",)),
        ReportType("datakvalitet", "Datakvalitet", False, ("html",), True),
        # An example decision proposal for one municipality: on request (--report beslutningsoplaeg --kommune K).
        ReportType("beslutningsoplaeg", "Beslutningsoplæg: skolestruktur", True, ("html", "pdf"), False),
    )
}
INTERACTIVE = {"udforsk"}  # notebooks for JupyterLab, never batch-rendered

# Round settings handed to a notebook when its parameters cell declares them.
ROUND_PARAMETERS: tuple[str, ...] = (
    "peer_metode", "peer_antal", "peer_klynger", "peer_vaegte", "benchmark", "anonymiser"
)
# Set by the runner for every job; a round file cannot override them.
RUNNER_PARAMETERS: tuple[str, ...] = ("periode", "db", "kommunekode")
# The peer sets of noegletal.peers.peer_sets, by the prefix of their id.
MART_TABLE = "noegletal"  # written by `noegletal compute`; the notebooks read it


class ParamsError(Exception):
    """Invalid round settings or parameters; `problems` holds one Danish sentence per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# -- the round file ---------------------------------------------------------------------------------
class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    formater: list[Literal["html", "pdf"]] | None = Field(None, min_length=1)
    parametre: dict[str, Any] = Field(default_factory=dict)


class RoundSettings(BaseModel):
    """A round's batch settings (`params/<PERIODE>.yaml`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    periode: str | None = None
    medlemmer: list[int] | None = Field(None, min_length=1)
    rapporter: dict[str, ReportSettings] | None = Field(None, min_length=1)
    peer_metode: str = "naermeste"
    peer_antal: int = Field(5, ge=1, le=97)
    peer_klynger: int = Field(4, ge=2, le=20)
    peer_vaegte: dict[str, float] = Field(default_factory=lambda: dict(peers.DEFAULT_WEIGHTS))
    benchmark: str = "peer_median"
    anonymiser: bool = False
    workers: int | None = Field(None, ge=1)
    timeout_s: float = Field(600.0, gt=0)

    @field_validator("periode")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None:
            model.parse_period(value)  # ValueError with a Danish message
        return value

    @field_validator("rapporter", mode="before")
    @classmethod
    def _reports(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name in value:
                if name in INTERACTIVE:
                    raise ValueError(f"'{name}' er til interaktiv brug i JupyterLab og laves ikke i batch")
                if name not in REPORTS:
                    raise ValueError(f"ukendt rapport '{name}' (kendte: {', '.join(REPORTS)})")
            # `kommunerapport:` with nothing after it means: default settings
            return {name: ({} if settings is None else settings) for name, settings in value.items()}
        return value

    @field_validator("peer_metode", "benchmark")
    @classmethod
    def _choice(cls, value: str, info: ValidationInfo) -> str:
        choices = {"peer_metode": peers.PEER_METHODS, "benchmark": benchmark.BENCHMARKS}[info.field_name]
        if value not in choices:
            raise ValueError(f"skal være en af {', '.join(choices)}")
        return value

    @field_validator("peer_vaegte")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(peers.VARIABLES))
        if unknown:
            raise ValueError(f"ukendt strukturvariabel {', '.join(unknown)} (kendte: {', '.join(peers.VARIABLES)})")
        if any(w < 0 for w in value.values()) or not any(w > 0 for w in value.values()):
            raise ValueError("vægtene skal være ≥ 0, og mindst én skal være positiv")
        return value


_PYDANTIC_DA = {
    "missing": "mangler",
    "extra_forbidden": "er ikke et kendt felt",
    "int_type": "skal være et heltal",
    "int_parsing": "skal være et heltal",
    "float_type": "skal være et tal",
    "float_parsing": "skal være et tal",
    "bool_type": "skal være true eller false",
    "string_type": "skal være en tekst (sæt den i anførselstegn)",
    "list_type": "skal være en liste, fx [101, 147]",
    "dict_type": "skal være en ordbog (navn: værdi)",
    "model_type": "skal være en ordbog (navn: værdi)",
    "too_short": "må ikke være tom",
}


def _danish_error(err: dict) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        text = str(ctx.get("error", err["msg"]))
    elif kind == "literal_error":
        text = "skal være " + str(ctx.get("expected", "")).replace("'", "").replace(" or ", " eller ")
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal"):
        sign = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤"}[kind]
        limit = ctx.get("ge", ctx.get("gt", ctx.get("le")))
        text = f"skal være {sign} {limit:g}"
    else:
        text = _PYDANTIC_DA.get(kind, err["msg"])
    where = ".".join(str(part) for part in err["loc"])
    value = err.get("input")
    if isinstance(value, (str, int, float, bool)) and kind not in ("missing", "extra_forbidden") and str(value) not in text:
        text += f" (fik {value!r})"
    return f"feltet '{where}': {text}"


def load_round_file(path: Path) -> RoundSettings:
    """Read and validate a round file; raise ParamsError naming the file and each bad field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError([f"Parameterfilen {path} findes ikke."]) from None
    except OSError as e:
        raise ParamsError([f"Kan ikke læse parameterfilen {path}: {e}"]) from None
    except yaml.YAMLError as e:
        raise ParamsError([f"{path} er ikke gyldig YAML: {e}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParamsError([f"{path}: filen skal være en ordbog af indstillinger (navn: værdi)"])
    try:
        return RoundSettings.model_validate(data)
    except ValidationError as e:
        raise ParamsError([f"{path}: {_danish_error(err)}" for err in e.errors()]) from None


def round_file(periode: str, params_file: Path | None) -> Path | None:
    """The round file to use: --params, else params/<PERIODE>.yaml when it exists."""
    if params_file is not None:
        return params_file
    default = Path("params") / f"{periode}.yaml"
    return default if default.exists() else None


# -- notebooks and their parameters -----------------------------------------------------------------
def notebooks_dir() -> Path:
    """$NOEGLETAL_NOTEBOOKS, else `notebooks/` next to the package in a source checkout, else ./notebooks."""
    env = os.environ.get(NOTEBOOKS_ENV)
    if env:
        return Path(env)
    beside_package = Path(noegletal.__file__).resolve().parent.parent / "notebooks"
    return beside_package if beside_package.is_dir() else Path("notebooks")


@dataclass(frozen=True)
class Declared:
    name: str
    type_name: str | None  # str, int, float, bool, dict, list; None = any


_TYPE_NAMES = {"str": "tekst", "int": "heltal", "float": "tal", "bool": "sand/falsk", "dict": "ordbog", "list": "liste"}


def _declared_type(annotation: str, default: str) -> str | None:
    base = re.split(r"[\[.]", annotation.strip(), maxsplit=1)[0] if annotation not in ("", "None") else ""
    if base in _TYPE_NAMES:
        return base
    if base:  # an annotation we cannot check (Optional[...], Path, a union): accept any value
        return None
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError):
        return None
    name = {tuple: "list"}.get(type(value), type(value).__name__)
    return name if name in _TYPE_NAMES else None


def declared_parameters(notebook: Path) -> dict[str, Declared]:
    """Name → declared type, from the notebook's cell tagged `parameters`."""
    inferred = papermill.inspect_notebook(notebook)
    return {
        name: Declared(name, _declared_type(p["inferred_type_name"], p["default"])) for name, p in inferred.items()
    }


def _type_ok(type_name: str | None, value: Any) -> bool:
    if type_name is None:
        return True
    if isinstance(value, bool):
        return type_name == "bool"
    allowed = {"str": str, "int": int, "float": (int, float), "bool": bool, "dict": dict, "list": (list, tuple)}
    return isinstance(value, allowed[type_name])


def check_parameters(where: str, declared: dict[str, Declared], values: dict[str, Any]) -> list[str]:
    """Problems with passing `values` to a notebook that declares `declared` (empty list = fine)."""
    problems = []
    for name, value in values.items():
        if name not in declared:
            problems.append(
                f"{where}: ukendt parameter '{name}' — notebooken kender kun {', '.join(declared) or 'ingen'}"
            )
        elif not _type_ok(declared[name].type_name, value):
            expected = declared[name].type_name
            problems.append(
                f"{where}: parameteren '{name}' skal være {_TYPE_NAMES[expected]} ({expected}), "
                f"fik {value!r} ({type(value).__name__})"
            )
    return problems


# -- the batch --------------------------------------------------------------------------------------
@dataclass
class Job:
    """One report to make: everything a worker needs, picklable (no open files or connections)."""

    id: str  # file stem in the output folder, e.g. kommunerapport_101
    rapport: str
    titel: str
    kommunekode: int | None
    kommune: str | None
    notebook: str  # path, for the manifest and error messages
    notebook_json: str  # the notebook as read (and checksummed) when the batch was planned
    notebook_sha256: str
    parametre: dict[str, Any]
    formater: tuple[str, ...]
    meta: dict[str, str]  # header/cover: titel, periode, kommune, definitioner_version, data_pr, pakke_version
    cwd: str  # the kernel's working directory: the notebook's folder, as in JupyterLab
    timeout_s: float
    renderer: str = "nbconvert"


@dataclass
class Batch:
    periode: str
    db: Path
    db_sha256: str
    data_pr: str
    definitioner_version: str
    pakke_version: str
    settings: RoundSettings
    jobs: list[Job] = field(default_factory=list)


def parse_formats(text: str) -> tuple[str, ...]:
    """'html,pdf' -> ('html', 'pdf'); raises ParamsError for an unknown format."""
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise ParamsError([f"--format: ukendt format {', '.join(unknown) or '(tomt)'}; brug html, pdf eller html,pdf"])
    return names


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks (the database can be large)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def db_checksum(db: Path) -> str:
    """SHA-256 of the database file and its write-ahead log if one exists (the exact input)."""
    wal = Path(str(db) + ".wal")
    if not wal.exists():
        return file_sha256(db)
    return hashlib.sha256((file_sha256(db) + file_sha256(wal)).encode()).hexdigest()


def _members(store: Store, periode: str, wanted: list[int] | None) -> tuple[list[int], list[str]]:
    with_data = set(store.submissions(periode)["kommunekode"].astype(int))
    if wanted is None:
        if not with_data:
            return [], [f"Ingen kommuner har indberettet for {periode}; der er intet at lave rapporter om."]
        return sorted(with_data), []
    problems = []
    codes = reference.municipality_codes()
    for kode in wanted:
        if kode not in codes:
            problems.append(f"Kommunekode {kode} findes ikke (se de 98 kommunekoder, fx 101 for København).")
        elif kode not in with_data:
            problems.append(
                f"{reference.municipality_name(kode)} ({kode}) har ingen indberetning for {periode}; "
                "der kan ikke laves rapporter for kommunen."
            )
    return sorted(dict.fromkeys(wanted)), problems


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def plan_batch(
    settings: RoundSettings,
    periode: str,
    db: Path,
    *,
    kommuner: list[int] | None = None,
    reports: list[str] | None = None,
    formats: tuple[str, ...] | None = None,
    renderer: str = "nbconvert",
    registry: dict[str, ReportType] = REPORTS,
    notebooks: Path | None = None,
) -> Batch:
    """Every job of the batch with validated parameters. Command-line values override `settings`."""
    try:
        model.parse_period(periode)
    except ValueError as e:
        raise ParamsError([str(e)]) from None
    problems: list[str] = []
    if settings.periode is not None and settings.periode != periode:
        problems.append(f"Parameterfilen gælder {settings.periode}, men kørslen er for {periode}.")

    if reports is not None:
        names = list(dict.fromkeys(reports))
    elif settings.rapporter is not None:
        names = list(settings.rapporter)
    else:
        names = [name for name, r in registry.items() if r.standard]
    for name in names:
        if name in INTERACTIVE:
            problems.append(f"'{name}' er til interaktiv brug i JupyterLab og laves ikke i batch.")
        elif name not in registry:
            problems.append(f"Ukendt rapport '{name}' (kendte: {', '.join(registry)}).")
    names = [n for n in names if n in registry]

    db = Path(db).resolve()
    try:
        with Store(db, read_only=True) as store:
            if not store.has_table(MART_TABLE):
                problems.append("Databasen har ingen nøgletal endnu: kør 'noegletal compute' før rapporterne.")
            members, member_problems = _members(store, periode, kommuner if kommuner is not None else settings.medlemmer)
            data_pr = store.data_as_of()
            kommuner_df = store.municipalities()
            names_by_code = dict(zip(kommuner_df["kommunekode"].astype(int), kommuner_df["navn"]))
    except StoreError as e:
        raise ParamsError([str(e)]) from None
    problems += member_problems

    batch = Batch(
        periode=periode,
        db=db,
        db_sha256=db_checksum(db),
        data_pr=data_pr.isoformat(sep=" ") if data_pr else "",
        definitioner_version=default_definitions().version,
        pakke_version=noegletal.__version__,
        settings=settings,
    )
    folder = notebooks if notebooks is not None else notebooks_dir()
    round_values = {name: getattr(settings, name) for name in ROUND_PARAMETERS}
    for name in names:
        rtype = registry[name]
        report_settings = (settings.rapporter or {}).get(name) or ReportSettings()
        path = folder / f"{name}.ipynb"
        where = _display_path(path)
        if not path.exists():
            problems.append(f"Notebooken til '{name}' findes ikke: {where}.")
            continue
        raw = path.read_bytes()
        try:
            declared = declared_parameters(path)
        except (ValueError, KeyError, OSError, AttributeError) as e:
            problems.append(f"{where} kan ikke læses som notebook: {e}")
            continue
        missing = [p for p in rtype.required() if p not in declared]
        if missing:
            problems.append(f"{where}: parameters-cellen mangler {', '.join(missing)} (en celle med tagget 'parameters').")
            continue
        fixed = [p for p in report_settings.parametre if p in RUNNER_PARAMETERS]
        if fixed:
            problems.append(f"{name}: {', '.join(fixed)} sættes af kørslen og kan ikke angives under parametre.")
            continue
        extra = dict(report_settings.parametre)
        problems += check_parameters(f"{where} (rapporter.{name}.parametre)", declared, extra)
        base = {"periode": periode, "db": str(db)}
        base.update({k: v for k, v in round_values.items() if k in declared})
        base.update(extra)
        job_formats = formats or tuple(report_settings.formater or rtype.formater)
        for kode in members if rtype.per_kommune else [None]:
            values = dict(base) if kode is None else {**base, "kommunekode": int(kode)}
            problems += check_parameters(where, declared, {k: v for k, v in values.items() if k not in extra})
            kommune = names_by_code.get(kode) if kode is not None else None
            batch.jobs.append(
                Job(
                    id=name if kode is None else f"{name}_{kode}",
                    rapport=name,
                    titel=rtype.titel,
                    kommunekode=kode,
                    kommune=kommune,
                    notebook=where,
                    notebook_json=raw.decode("utf-8"),
                    notebook_sha256=hashlib.sha256(raw).hexdigest(),
                    parametre=values,
                    formater=job_formats,
                    meta={
                        "titel": rtype.titel,
                        "undertitel": "",
                        "periode": periode,
                        "kommune": kommune or "",
                        "definitioner_version": batch.definitioner_version,
                        "data_pr": batch.data_pr,
                        "pakke_version": batch.pakke_version,
                    },
                    cwd=str(path.resolve().parent),
                    timeout_s=settings.timeout_s,
                    renderer=renderer,
                )
            )
    if problems:
        raise ParamsError(list(dict.fromkeys(problems)))
    return batch
