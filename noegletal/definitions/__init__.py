"""The definitions sheet (definitionsark): key figures as versioned data.

`load()` reads `definitioner.yaml` beside this file (or another path), validates it and returns a
`Definitions` object. A broken sheet raises `DefinitionsError` with a message that names the key
figure and field. Expressions are parsed once here and turned into SQL by `Expression.sql()` or
evaluated over numpy arrays by `Expression.evaluate()` (the same arithmetic; tested against each other).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from noegletal.model import CATEGORIES

LEVELS: tuple[str, ...] = ("bygning", "kategori", "kommune", "gruppe", "alle")
WINDOWS: tuple[str, ...] = ("kvartal", "loebende_aar")
DEFAULT_PATH = files(__name__).joinpath("definitioner.yaml")


class DefinitionsError(Exception):
    """The definitions sheet is broken; the message says where."""


class Expression:
    """A numerator or denominator: arithmetic over columns, parsed with Python's ast.

    Allowed: column names, numbers, + - * /, parentheses and sum(a, b, ...).
    """

    def __init__(self, text: str, known_columns: set[str]):
        self.text = str(text)
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as e:
            raise ValueError(f"kan ikke læse udtrykket '{self.text}': {e.msg}") from e
        self._tree = tree.body
        self.columns: list[str] = []
        self._check(self._tree, known_columns)

    def _check(self, node: ast.AST, known: set[str]) -> None:
        if isinstance(node, ast.Name):
            if node.id not in known:
                raise ValueError(f"ukendt kolonne '{node.id}' i '{self.text}'")
            if node.id not in self.columns:
                self.columns.append(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            pass
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            self._check(node.left, known)
            self._check(node.right, known)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sum":
            if not node.args or node.keywords:
                raise ValueError(f"sum() skal have mindst én kolonne i '{self.text}'")
            for arg in node.args:
                self._check(arg, known)
        else:
            raise ValueError(f"'{ast.unparse(node)}' er ikke tilladt i '{self.text}'")

    def sum_terms(self) -> list[str] | None:
        """The column names of a top-level sum(...) or a single column, else None."""
        if isinstance(self._tree, ast.Name):
            return [self._tree.id]
        if isinstance(self._tree, ast.Call):
            return [a.id for a in self._tree.args if isinstance(a, ast.Name)]
        return None

    def sql(self, prefix: str = "") -> str:
        """DuckDB SQL for the expression; `prefix` qualifies column names (e.g. 'f.')."""
        return self._sql(self._tree, prefix)

    def _sql(self, node: ast.AST, prefix: str) -> str:
        if isinstance(node, ast.Name):
            return f"{prefix}{node.id}"
        if isinstance(node, ast.Constant):
            return repr(float(node.value))
        if isinstance(node, ast.BinOp):
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(node.op)]
            return f"({self._sql(node.left, prefix)} {op} {self._sql(node.right, prefix)})"
        # sum(a, b, ...): NULL only when every part is NULL, otherwise the sum of the reported parts
        parts = [self._sql(a, prefix) for a in node.args]
        any_reported = " OR ".join(f"{p} IS NOT NULL" for p in parts)
        total = " + ".join(f"coalesce({p}, 0)" for p in parts)
        return f"(CASE WHEN {any_reported} THEN {total} END)"

    def evaluate(self, column: Callable[[str], np.ndarray]) -> np.ndarray | float:
        """The expression over float arrays, NaN meaning "not reported" (NULL in `sql()`).

        `column(name)` gives a column's array. The arithmetic is that of `sql()`, operation by
        operation and in the same order (IEEE division, NaN propagates as NULL does, sum() adds the
        reported parts left to right), so both give the same floats; the key-figure engine uses this
        where the columns already are numpy arrays.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._evaluate(self._tree, column)

    def _evaluate(self, node: ast.AST, column: Callable[[str], np.ndarray]) -> np.ndarray | float:
        if isinstance(node, ast.Name):
            return np.asarray(column(node.id), dtype=np.float64)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.BinOp):
            op = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}[type(node.op)]
            return op(self._evaluate(node.left, column), self._evaluate(node.right, column))
        parts = [self._evaluate(a, column) for a in node.args]
        reported = np.logical_or.reduce([~np.isnan(p) for p in parts])
        total = np.where(np.isnan(parts[0]), 0.0, parts[0])
        for p in parts[1:]:
            total = total + np.where(np.isnan(p), 0.0, p)
        return np.where(reported, total, np.nan)

    def __str__(self) -> str:
        return self.text


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float
    max: float
    kilde: str = Field(min_length=3)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) skal være mindre end max ({self.max})")
        return self


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid")
    navn_da: str
    navn_en: str
    w_pct: float = Field(ge=0, le=100)
    w_begrundelse: str
    brugere: str


class ColumnDef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aggregering: Literal["sum", "gennemsnit"]
    enhed: str
    afledt: str | None = None

    @property
    def kind(self) -> str:
        return "flow" if self.aggregering == "sum" else "stock"


class WindowRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    taeller: Literal["flow", "stock"]
    naevner: Literal["flow", "stock"]


class KeyFigure(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    navn_da: str
    navn_en: str
    enhed_da: str
    enhed_en: str
    taeller: str
    naevner: str
    vindue: WindowRule
    retning: Literal["lavere_er_bedre", "hoejere_er_bedre", "ingen"]
    parent: str | None = None
    niveauer: list[Literal["bygning", "kategori", "kommune", "gruppe", "alle"]] = list(LEVELS)
    intervaller: dict[str, Range] = {}

    @field_validator("intervaller")
    @classmethod
    def _known_categories(cls, v: dict[str, Range]) -> dict[str, Range]:
        unknown = set(v) - set(CATEGORIES) - {"standard", "alle"}
        if unknown:
            raise ValueError(f"ukendte kategorier i intervaller: {sorted(unknown)}")
        return v

    @property
    def lower_is_better(self) -> bool:
        return self.retning == "lavere_er_bedre"

    def range_for(self, kategori: str) -> Range | None:
        """The plausible range for a category: its own, else `standard`, else `alle`, else None."""
        return self.intervaller.get(kategori) or self.intervaller.get("standard") or self.intervaller.get("alle")


class Definitions(BaseModel):
    """The whole sheet. Access key figures with `defs[id]` or iterate `defs.noegletal`."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    version: str = Field(min_length=1)
    gyldig_fra: str
    kategorier: dict[str, Category]
    kolonner: dict[str, ColumnDef]
    noegletal: list[KeyFigure]

    @model_validator(mode="after")
    def _consistent(self) -> Definitions:
        if set(self.kategorier) != set(CATEGORIES):
            raise ValueError(f"kategorier skal være præcis {list(CATEGORIES)}")
        ids = [k.id for k in self.noegletal]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"nøgletal findes flere gange: {dupes}")
        known = set(self.kolonner)
        for k in self.noegletal:
            for part in ("taeller", "naevner"):
                try:
                    expr = Expression(getattr(k, part), known)
                except ValueError as e:
                    raise ValueError(f"nøgletal '{k.id}', felt '{part}': {e}") from None
                kinds = {self.kolonner[c].kind for c in expr.columns}
                declared = getattr(k.vindue, part)
                if kinds != {declared}:
                    raise ValueError(
                        f"nøgletal '{k.id}': vindue.{part} er '{declared}', men kolonnerne "
                        f"{expr.columns} er {sorted(kinds)}"
                    )
            if k.parent is not None and k.parent not in ids:
                raise ValueError(f"nøgletal '{k.id}': parent '{k.parent}' findes ikke")
        return self

    def __getitem__(self, key_figure_id: str) -> KeyFigure:
        for k in self.noegletal:
            if k.id == key_figure_id:
                return k
        raise KeyError(key_figure_id)

    def ids(self) -> list[str]:
        return [k.id for k in self.noegletal]

    def expression(self, key_figure_id: str, part: Literal["taeller", "naevner"]) -> Expression:
        return Expression(getattr(self[key_figure_id], part), set(self.kolonner))

    def children(self, key_figure_id: str) -> list[KeyFigure]:
        return [k for k in self.noegletal if k.parent == key_figure_id]

    def w_default(self) -> dict[str, float]:
        """Default weather-independent heat share (%) per category."""
        return {c: cat.w_pct for c, cat in self.kategorier.items()}


def load(path: str | Path | None = None) -> Definitions:
    """Read and validate a definitions sheet; raise DefinitionsError naming what is wrong."""
    source = Path(path) if path is not None else DEFAULT_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DefinitionsError(f"Definitionsarket {source} findes ikke") from None
    except yaml.YAMLError as e:
        raise DefinitionsError(f"Definitionsarket {source} er ikke gyldig YAML: {e}") from None
    if not isinstance(raw, dict):
        raise DefinitionsError(f"Definitionsarket {source} skal være et YAML-kort med version, kategorier, kolonner og noegletal")
    try:
        return Definitions.model_validate(raw)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = err["loc"]
            # name the key figure by id rather than by list position
            if len(loc) >= 2 and loc[0] == "noegletal" and isinstance(loc[1], int):
                items = raw.get("noegletal") or []
                kid = items[loc[1]].get("id", f"nr. {loc[1] + 1}") if loc[1] < len(items) else loc[1]
                loc = ("noegletal", kid, *loc[2:])
            where = ".".join(str(x) for x in loc) or "(hele arket)"
            problems.append(f"  {where}: {err['msg'].removeprefix('Value error, ')}")
        raise DefinitionsError(f"Definitionsarket {source} har fejl:\n" + "\n".join(problems)) from None


@lru_cache(maxsize=1)
def default() -> Definitions:
    """The bundled definitions sheet, loaded once per process."""
    return load()
