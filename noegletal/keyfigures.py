"""The key-figure engine: building facts per window, building values and group figures.

Everything is driven by the definitions sheet: a new key figure is a new YAML entry, not new code.

1. `building_facts(store, defs)` — one row per building, quarter and window (`bygningsfakta`):
   the newest revision of every submission, `kvartal` joined to the `bygninger` of the same
   submission; the category is `kategori` when given, else the one of the BBR code (`bbr_koder`;
   unknown codes -> oevrige). Window `kvartal` holds the quarter as reported; window `loebende_aar`
   ending with quarter P holds the four quarters P-3..P: columns with aggregering `sum` (flows) are
   summed, `gennemsnit` (stocks) averaged, and a column is reported for the window only when the
   building reported it in all four quarters (else NULL: NaN + x = NaN gives that for free); a
   building missing a quarter has no rolling year then. Name, category etc. come from quarter P. Heat
   is then degree-day corrected over the window (`energy.normalise_heat`).
2. `exclusions(facts, findings)` — the windows a building is left out of group figures: every
   window that includes a quarter with a finding of severity `fejl`.
3. `group_rows(store, facts, udeladt, defs)` — the group figures (levels kategori, kommune, gruppe, alle).
4. `mart_view_sql(defs)` — the building rows and the whole mart (`noegletal`) as a view.

Decisions and why:
- A building enters a figure when it has a building value: numerator and denominator reported and
  the denominator > 0 (brugere = 0 or no maintenance at all gives no value rather than a division by
  zero). No row is kept for a building that has no value. A group figure is SUM(taeller) /
  SUM(naevner) over exactly those buildings, so the drill-down from a group figure to its buildings
  adds up; buildings left out because of a `fejl` finding keep their building rows with
  `udeladt = true` and the reason in `udeladt_aarsag`, but are in no group row.
- median, p10 and p90 of a group are quantiles of its building values with linear interpolation
  between the two nearest ranks (as DuckDB's quantile_cont and numpy's default "linear"): with n
  sorted values x_0..x_{n-1} and h = (n - 1) * p, the quantile is x_lo + (h - lo) * (x_{lo+1} - x_lo),
  lo = floor(h). Example: 50, 51, 52, 71, 82 give p10 = 50.4, median 52, p90 = 77.6.
- Key figures built on a municipality column (`befolkning`, e.g. areal_pr_indbygger) have the
  municipality as unit: the building part is summed over the municipality's buildings in the
  window, the municipality part is taken once; gruppe and alle sum over municipalities and their
  median/p10/p90 are over the municipality values. They exist at the levels kommune, gruppe and
  alle (all buildings) only.
- Group rows are computed in numpy rather than with DuckDB's quantile_cont: at national scale (≈ 70
  million building values × 6 group levels) DuckDB's holistic aggregates took 30-45 s on two cores;
  here the values of a key figure are sorted once (by window x period and value) and each level
  costs one small integer sort per window x period (`_group_stats`); the sums are added up once per
  finest group and rolled up. Tests check the result against pandas' quantiles and against the
  naive implementation in bench/naive_compute.py.
  Two key figures are computed at a time in threads (numpy's sorts release the GIL: two cores).
  The numerators and denominators are evaluated with `Expression.evaluate` on the facts' own
  arrays (the same floats as the SQL of the mart view, tested): handing 3.7 million rows to DuckDB
  and back for every figure cost ≈ 1 s and a copy of the facts.
- The building rows are a view over `bygningsfakta` (one SELECT per key figure), not a table: at
  national scale they are ≈ 70 million rows that would only repeat `bygningsfakta` with a division.
- The rolling year is built in numpy from the quarters sorted by building and quarter (row i-3..i),
  which is several times faster than 60 SQL window functions; the sort is done in numpy on integer
  keys (DuckDB's ORDER BY on the text building id cost 0.6 s nationally).
- Text columns of the facts and group frames are pandas categories (codes into the distinct
  values): nationally the facts have 3.7 million rows, and strings per row cost seconds and ≈ 0.5 GB
  in every phase; DuckDB stores them as plain VARCHAR.
- Memory: `noegletal compute` must stay under 2 GB nationally. DuckDB, Arrow and the C heap keep
  freed memory for reuse; `release_buffers` hands it back between the phases.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from noegletal import energy, model
from noegletal.store import scalar
from noegletal.definitions import Definitions, KeyFigure

MART_COLUMNS: list[str] = [
    "periode", "vindue", "niveau", "kommunekode", "enhed", "kategori", "noegletal", "vaerdi", "taeller", "naevner",
    "antal_bygninger", "median", "p10", "p90", "definitioner_version",
]
INTERNAL_COLUMNS: list[str] = ["udeladt", "udeladt_aarsag"]
# The stored group rows (`noegletal_grupper`): what is the same on every group row (the definitions
# version; never left out, so udeladt false and no reason) is added by the mart view instead of being
# written 1.7 million times nationally (0.1 s of compute).
GROUP_COLUMNS: list[str] = [c for c in MART_COLUMNS if c != "definitioner_version"]
WINDOWS: tuple[str, ...] = ("kvartal", "loebende_aar")
LEVELS: tuple[str, ...] = ("bygning", "kategori", "kommune", "gruppe", "alle")
FACT_KEYS: list[str] = [
    "kommunekode", "bygning_id", "ejendom_id", "navn", "kategori", "anvendelseskode", "opfoerelsesaar",
    "ejerforhold", "periode", "vindue",
]
ENERGY_COLUMNS: list[str] = ["w_pct", "gd_actual", "gd_normal"]
GROUP_TABLE = "noegletal_grupper"
GROUP_THREADS = 2  # the target machine has two cores
MART_VIEW = "noegletal"
FACTS_TABLE = "bygningsfakta"

# Columns that describe the municipality, not a building (from the `kommuner` table).
MUNICIPAL_COLUMNS: frozenset[str] = frozenset({"befolkning"})
# Derived building columns the sheet may use, as SQL over the submission (b = bygninger).
DERIVED_SQL: dict[str, str] = {
    "lejet_areal_m2": "CASE WHEN b.ejerforhold = 'lejet' THEN b.bruttoareal_m2 ELSE 0 END",
}
# Computed after windowing: heat corrected with the window's degree days.
NORMALISED_HEAT = "varme_normaliseret_kwh"

QUANTILES: tuple[tuple[str, float], ...] = (("p10", 0.1), ("median", 0.5), ("p90", 0.9))
# The group levels: (niveau, unit the groups are made of, split by category).
GROUP_SPECS: tuple[tuple[str, str | None, bool], ...] = (
    ("kategori", "kommune", True),
    ("kommune", "kommune", False),
    ("gruppe", "gruppe", True),
    ("gruppe", "gruppe", False),
    ("alle", None, True),
    ("alle", None, False),
)


class KeyFigureError(Exception):
    """The mart cannot be built (no data, a broken definition, missing degree days); Danish message."""


def _text(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def quarter_index(periode: str) -> int:
    """'2026Q3' -> 2026 * 4 + 2: consecutive quarters are consecutive integers."""
    year, quarter = model.parse_period(periode)
    return year * 4 + quarter - 1


def period_index(periode) -> np.ndarray:
    """`quarter_index` of every element (parsed once per distinct value: text is slow to parse)."""
    return per_value(pd.Series(periode), quarter_index)


def text_ranks(values) -> np.ndarray:
    """The position of each of the distinct `values` in text order (0 for the first): building ids
    are ranked once per distinct id, then sorted as integers."""
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[np.argsort(np.array([str(v) for v in values]), kind="stable")] = np.arange(len(values))
    return ranks


def distinct(values: pd.Series) -> tuple[np.ndarray, list]:
    """(position of each element among the distinct values (-1: NA), the distinct values); a
    categorical column has them already."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), list(values.cat.categories)
    positions, uniques = pd.factorize(values)
    return positions, list(uniques)


def per_value(values: pd.Series, value_of, missing=-1) -> np.ndarray:
    """value_of(v) for every element, computed once per distinct value (text is slow to handle row by
    row); `missing` for NA."""
    positions, uniques = distinct(values)
    return np.array([*(value_of(u) for u in uniques), missing])[positions]  # position -1 (NA) is the last


# --------------------------------------------------------------------------------------------------
# Columns of the facts
# --------------------------------------------------------------------------------------------------


def fact_columns(defs: Definitions) -> list[str]:
    """The numeric building columns of `bygningsfakta`, in the order of the definitions sheet."""
    return [c for c in defs.kolonner if c not in MUNICIPAL_COLUMNS]


def _source_sql(column: str) -> str:
    """SQL for a building column of one quarter (k = kvartal, b = bygninger)."""
    if column in DERIVED_SQL:
        return DERIVED_SQL[column]
    if column == NORMALISED_HEAT:
        return "CAST(NULL AS DOUBLE)"  # filled in after windowing
    for table, alias in (("kvartal", "k"), ("bygninger", "b")):
        if any(c.id == column and c.type == "number" for c in model.TABLES[table]):
            return f"{alias}.{column}"
    raise KeyFigureError(
        f"Kolonnen '{column}' i definitionsarket findes hverken i indberetningerne eller blandt de afledte "
        f"kolonner ({', '.join([*DERIVED_SQL, NORMALISED_HEAT, *MUNICIPAL_COLUMNS])}); den kan ikke beregnes."
    )


def _is_municipal(defs: Definitions, kf: KeyFigure) -> bool:
    """Whether a key figure uses a municipality column (and so has the municipality as unit)."""
    parts = {p: set(defs.expression(kf.id, p).columns) for p in ("taeller", "naevner")}
    for part, cols in parts.items():
        if cols & MUNICIPAL_COLUMNS and cols - MUNICIPAL_COLUMNS:
            raise KeyFigureError(
                f"Nøgletallet '{kf.id}': {part} blander kommunetal ({', '.join(sorted(cols & MUNICIPAL_COLUMNS))}) "
                f"og bygningstal ({', '.join(sorted(cols - MUNICIPAL_COLUMNS))}); det kan ikke beregnes."
            )
    municipal = [p for p, cols in parts.items() if cols and cols <= MUNICIPAL_COLUMNS]
    if len(municipal) == 2:
        raise KeyFigureError(f"Nøgletallet '{kf.id}' bygger kun på kommunetal; det har ingen bygninger at lægge sammen.")
    if municipal and {"bygning", "kategori"} & set(kf.niveauer):
        raise KeyFigureError(
            f"Nøgletallet '{kf.id}' bygger på et kommunetal og kan kun have niveauerne kommune, gruppe og alle "
            f"(definitionsarket har {', '.join(kf.niveauer)})."
        )
    return bool(municipal)


# --------------------------------------------------------------------------------------------------
# 1. Building facts
# --------------------------------------------------------------------------------------------------


def _quarters_sql(defs: Definitions) -> str:
    """The building quarters (window kvartal), in no particular order."""
    w_default = " ".join(f"WHEN {_text(c)} THEN {float(w)!r}" for c, w in defs.w_default().items())
    numeric = ",\n      ".join(f"{_source_sql(c)} AS {c}" for c in fact_columns(defs))
    # newest revision of every municipality x quarter (the store's latest-revision rule)
    return f"""
    WITH latest AS (
      SELECT indberetning_id, periode FROM indberetninger
      QUALIFY revision = max(revision) OVER (PARTITION BY kommunekode, periode)
    )
    SELECT b.kommunekode, b.bygning_id, b.ejendom_id, b.navn,
      coalesce(b.kategori, c.kategori, 'oevrige') AS kategori,
      b.anvendelseskode, b.opfoerelsesaar, b.ejerforhold, i.periode, 'kvartal' AS vindue,
      CAST(substr(i.periode, 1, 4) AS INTEGER) * 4 + CAST(substr(i.periode, 6, 1) AS INTEGER) - 1 AS _t,
      {numeric},
      CAST(coalesce(b.varmeandel_vejruafhaengig_pct,
               CASE coalesce(b.kategori, c.kategori, 'oevrige') {w_default} END) AS DOUBLE) AS w_pct
    FROM latest i
    JOIN bygninger b ON b.indberetning_id = i.indberetning_id
    JOIN kvartal k ON k.indberetning_id = i.indberetning_id AND k.bygning_id = b.bygning_id
    LEFT JOIN bbr_koder c ON c.anvendelseskode = b.anvendelseskode
    """


def release_buffers(con) -> None:
    """Hand memory that is cached but no longer used back to the system between the phases of compute.

    DuckDB's buffer pool stays filled up to the memory limit after a query (≈ 1 GB after the facts
    query at national scale): lowering the limit for a moment empties it, and DuckDB then also trims
    the C heap, which holds ≈ 0.5 GB of freed pandas/numpy temporaries after the facts phase. Arrow's
    allocator keeps freed blocks too. Nationally this lowers the memory of every later phase by ≈ 0.6 GB.
    """
    limit = scalar(con, "SELECT current_setting('memory_limit')")
    con.execute("SET memory_limit = '16MB'")
    con.execute(f"SET memory_limit = {_text(limit)}")
    pa.default_memory_pool().release_unused()


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    """A numeric Arrow column as float64, NULL as NaN."""
    return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)


@contextlib.contextmanager
def _small_pages() -> Iterator[None]:
    """Let numpy use ordinary 4 kB memory pages for a while instead of asking the kernel for 2 MB
    ones (its default for large arrays). On the 2-core virtual machine the facts' fresh 0.5 GB
    then made the kernel compact memory at every page fault: 2.7 s of system time, against 1.2 s
    with small pages (measured nationally; the later phases reuse memory and do not gain)."""
    switch = getattr(getattr(np, "_core", None), "multiarray", None)
    switch = getattr(switch, "_set_madvise_hugepage", None)  # private numpy API: skip it if it is gone
    previous = switch(False) if switch else None
    try:
        yield
    finally:
        if switch:
            switch(previous)


def _building_order(kommunekode: np.ndarray, bygning_id: pa.DictionaryArray, t: np.ndarray) -> np.ndarray:
    """The permutation that sorts the quarters by municipality, building id and quarter (sorting the
    text ids in DuckDB cost 0.6 s nationally; here the distinct ids are ranked once and one integer
    key is sorted)."""
    id_rank = text_ranks(bygning_id.dictionary.to_numpy(zero_copy_only=False))
    kom0 = kommunekode - kommunekode.min() if len(t) else kommunekode
    t0 = t - t.min() if len(t) else t
    key = (kom0 * len(id_rank) + id_rank[bygning_id.indices.to_numpy()]) * (int(t0.max(initial=0)) + 1) + t0
    return np.argsort(key, kind="stable")


def _encoded(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column dictionary-encoded (codes into its distinct values, one dictionary, one chunk);
    other columns as they are. Encoded chunk by chunk: joining the text chunks first cost 0.5 s
    nationally."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pa.table({"c": pc.dictionary_encode(column)}).unify_dictionaries().combine_chunks()["c"]
    return column


def _add_rolling_year(quarters: dict[str, pa.ChunkedArray], defs: Definitions) -> pd.DataFrame:
    """The quarters (window kvartal) followed by the rows of window loebende_aar, in building order.

    A rolling-year row exists for every quarter P of a building that also reported P-1, P-2 and
    P-3. In building order (`_building_order`) those are the rows i-3..i. Flows are summed and
    stocks averaged; NaN + x = NaN makes a column missing for the year when any of the four quarters
    misses it. Name, category, w etc. are those of quarter P; text columns become categories (see
    the module docstring), integers nullable integers. The frame is assembled without consolidating
    its float columns into one block (which would copy them all once more). `quarters` (the columns
    of the query) is emptied on the way, so that its memory is freed column by column.

    The columns are independent and numpy's and Arrow's work on them releases the GIL: they are made
    in two threads. With the window sums of `make` this step took 1.1 s instead of 2.1 s nationally
    (alternating runs on a slow day of the machine).
    """
    names = list(quarters)
    n = len(quarters["_t"])
    summed = [c for c in fact_columns(defs) if c != NORMALISED_HEAT]
    kept = [c for c in names if c not in summed and c not in ("_t", "vindue")]
    quarters["bygning_id"] = _encoded(quarters["bygning_id"])
    byg = quarters["bygning_id"].chunk(0) if n else pa.array([], pa.string()).dictionary_encode()
    kom = quarters["kommunekode"].to_numpy().astype(np.int64)
    t = quarters.pop("_t").to_numpy().astype(np.int64)
    del quarters["vindue"]  # made below from the window of each row
    order = _building_order(kom, byg, t)
    kom, t, byg_code = np.take(kom, order), np.take(t, order), np.take(byg.indices.to_numpy(), order)
    end = np.flatnonzero((kom[3:] == kom[:-3]) & (byg_code[3:] == byg_code[:-3]) & (t[3:] - t[:-3] == 3)) + 3
    # one row per output row: the quarter itself, then quarter P of every rolling year
    rows = order[np.concatenate([np.arange(n), end])]
    first = end - 3  # the first quarter of each rolling year
    integers = {pa.int32(): pd.Int64Dtype(), pa.int64(): pd.Int64Dtype()}  # nullable, not float with NaN
    # allocated here and filled in the threads: memory taken in a thread comes from another heap of
    # the C library, and the peak of compute was ≈ 30 MB higher nationally that way
    columns = {c: np.empty(n + len(end)) for c in summed}
    parts = queue.SimpleQueue()  # a work buffer per thread: fresh memory is slow to touch
    for _ in range(GROUP_THREADS):
        parts.put(np.empty(max(n - 3, 0)))

    def make(c: str) -> None:
        if c in kept:
            columns[c] = _encoded(quarters.pop(c)).to_pandas(types_mapper=integers.get).array.take(rows)
            return
        # the quarters in building order; then rows i..i+3 added up for every row i (whole arrays
        # added, as fast as memory goes), of which the rolling years take theirs: three gathers
        # fewer per column than adding up the four quarters of each year, and the same sums bit for bit
        column, four = columns[c], parts.get()
        # mode clip (the positions are valid): with the default mode numpy gathers into a fresh
        # buffer and copies that into `out` (nationally 2 x 18 fresh 15 MB buffers)
        x = np.take(_floats(quarters.pop(c)), order, out=column[:n], mode="clip")
        np.add(x[3:], x[2:-1], out=four)
        four += x[1:-2]
        four += x[:-3]
        year = column[n:]
        np.take(four, first, out=year, mode="clip")
        if defs.kolonner[c].aggregering == "gennemsnit":
            year /= 4
        parts.put(four)

    with ThreadPoolExecutor(max_workers=GROUP_THREADS) as pool:
        list(pool.map(make, kept + summed))
    columns["kommunekode"] = columns["kommunekode"].astype("int64")
    window = np.concatenate([np.zeros(n, dtype=np.int8), np.ones(len(end), dtype=np.int8)])
    columns["vindue"] = pd.Categorical.from_codes(window, list(WINDOWS))
    return pd.DataFrame({c: columns[c] for c in names if c != "_t"}, copy=False)


def building_facts(store, defs: Definitions) -> pd.DataFrame:
    """The `bygningsfakta` frame (both windows) with corrected heat and the window's degree days.

    Raises KeyFigureError for an empty database or missing degree days.
    """
    if not len(store.query("SELECT 1 FROM indberetninger LIMIT 1")):
        raise KeyFigureError(
            "Der er ingen indberetninger i databasen. Indlæs først med 'noegletal ingest' "
            "(eller lav en demodatabase med 'noegletal demo')."
        )
    quarters = store.con.sql(_quarters_sql(defs)).to_arrow_table()
    release_buffers(store.con)
    columns = dict(zip(quarters.column_names, quarters.columns))
    del quarters  # _add_rolling_year frees each column when it has used it
    with _small_pages():
        facts = _add_rolling_year(columns, defs)
    release_buffers(store.con)
    periods = sorted(facts["periode"].unique())  # a category: read from its codes, not 3.7 million strings
    reported_heat = (facts["vindue"] == "kvartal").to_numpy() & facts["varme_kwh"].notna().to_numpy()
    heat_quarters = facts["periode"][reported_heat].unique()
    try:
        gd = energy.window_degree_days(store, periods, required=[(p, "kvartal") for p in heat_quarters])
    except energy.MissingDegreeDaysError as e:
        raise KeyFigureError(str(e)) from None
    # the window's degree days on every row: a (period x window) table looked up by position
    positions, uniques = pd.factorize(facts["periode"])
    window = (facts["vindue"] == "loebende_aar").to_numpy().astype(np.int64)
    for k in ("gd_actual", "gd_normal"):
        table = gd.pivot(index="periode", columns="vindue", values=k).reindex(index=uniques, columns=list(WINDOWS))
        facts[k] = table.to_numpy(dtype=np.float64)[positions, window]
    try:
        facts[NORMALISED_HEAT] = energy.normalise_heat(
            facts["varme_kwh"], facts["gd_actual"], facts["gd_normal"], facts["w_pct"]
        ).to_numpy()
    except ValueError as e:
        raise KeyFigureError(f"Graddagekorrektion: {e}") from None
    return facts  # columns: FACT_KEYS, fact_columns(defs), ENERGY_COLUMNS


# --------------------------------------------------------------------------------------------------
# 2. Exclusions
# --------------------------------------------------------------------------------------------------


def exclusions(facts: pd.DataFrame, findings: pd.DataFrame) -> tuple[np.ndarray, pd.Categorical]:
    """(udeladt, udeladt_aarsag) for every facts row.

    A finding of severity `fejl` in quarter Q blocks the building's window `kvartal` of Q and its
    rolling years ending in Q..Q+3 (every window that includes Q). The reason names the quarter, the
    rule and the column, e.g. "fejl i 2026Q1: enhed_1000 (varme_kwh)"; details are in the table `fund`.
    The reasons are a category (NaN where the row is counted): 3.7 million mostly empty strings
    cost 0.2 s nationally.
    """
    n = len(facts)
    udeladt = np.zeros(n, dtype=bool)
    fejl = findings[findings["alvor"] == "fejl"] if len(findings) else findings
    if not len(fejl):
        return udeladt, pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), pd.Index([], dtype="str"))
    fejl = pd.DataFrame({
        "kommunekode": fejl["kommunekode"].astype("int64").to_numpy(),
        "bygning_id": fejl["bygning_id"].astype(str).to_numpy(),
        "t": period_index(fejl["periode"]),
        "tekst": (
            "fejl i " + fejl["periode"].astype(str) + ": " + fejl["regel"].astype(str)
            + np.where(fejl["kolonne"].notna(), " (" + fejl["kolonne"].astype(str) + ")", "")
        ).to_numpy(),
    })
    windows = pd.concat(
        [fejl.assign(vindue="kvartal")]
        + [fejl.assign(vindue="loebende_aar", t=fejl["t"] + k) for k in range(4)],
        ignore_index=True,
    )
    reasons = (
        windows.drop_duplicates().sort_values(["t", "tekst"])
        .groupby(["kommunekode", "bygning_id", "t", "vindue"], as_index=False)["tekst"].agg("; ".join)
    )
    # only rows of the affected buildings need the (string) join
    candidate = np.flatnonzero(facts["bygning_id"].isin(reasons["bygning_id"].unique()).to_numpy())
    affected = facts.iloc[candidate]
    rows = pd.DataFrame({
        "row": candidate,
        "kommunekode": affected["kommunekode"].to_numpy(),
        "bygning_id": affected["bygning_id"].astype(str).to_numpy(),
        "t": period_index(affected["periode"].to_numpy()),
        "vindue": affected["vindue"].astype(str).to_numpy(),
    }).merge(reasons, on=["kommunekode", "bygning_id", "t", "vindue"], how="inner")
    udeladt[rows["row"].to_numpy()] = True
    codes, texts = pd.factorize(rows["tekst"])
    aarsag = np.full(n, -1, dtype=np.int32)
    aarsag[rows["row"].to_numpy()] = codes
    return udeladt, pd.Categorical.from_codes(aarsag, pd.Index(texts, dtype="str"))


# --------------------------------------------------------------------------------------------------
# 3. Group rows
# --------------------------------------------------------------------------------------------------


@dataclass
class Layout:
    """How the facts rows map to windows, periods and municipalities (all as small integers)."""

    t_min: int  # period index of the first quarter
    n_periods: int
    kommuner: np.ndarray  # the municipality codes present, sorted
    gruppe: np.ndarray  # kommunegruppe code of each of `kommuner`

    @property
    def n_slots(self) -> int:
        """Window x period combinations: slot = window * n_periods + (period index - t_min)."""
        return len(WINDOWS) * self.n_periods

    def fine(self, slot, kommune, kategori):
        """The finest group (slot, municipality, category) as one integer; category 0 for municipality units."""
        return (slot * len(self.kommuner) + kommune) * len(model.CATEGORIES) + kategori

    @property
    def n_gruppe(self) -> int:
        return int(self.gruppe.max()) + 1 if len(self.gruppe) else 1


@dataclass
class Units:
    """The members of the group figures of one key figure: one row per building (or municipality) and window."""

    fine: np.ndarray  # the finest group: Layout.fine(slot, municipality position, category position)
    taeller: np.ndarray
    naevner: np.ndarray
    antal: np.ndarray | None  # buildings behind each unit; None: one each (building units)


def layout_of(store, facts: pd.DataFrame) -> Layout:
    t = period_index(facts["periode"]) if len(facts) else np.array([0])
    kommuner = np.unique(facts["kommunekode"].to_numpy()) if len(facts) else np.array([], dtype=np.int64)
    groups = store.query("SELECT kommunekode, kommunegruppe_kode FROM kommuner")
    gruppe_of = {int(k): int(g) for k, g in zip(groups["kommunekode"], groups["kommunegruppe_kode"]) if pd.notna(g)}
    gruppe = np.array([gruppe_of.get(int(k), 0) for k in kommuner], dtype=np.int64)
    return Layout(t_min=int(t.min()), n_periods=int(t.max() - t.min() + 1), kommuner=kommuner, gruppe=gruppe)


def _row_keys(facts: pd.DataFrame, layout: Layout) -> np.ndarray:
    """The finest group (`Layout.fine`) of every facts row: one integer that every key figure's units
    copy (int32 when it fits: half the memory per figure in flight)."""
    window = per_value(facts["vindue"], list(WINDOWS).index)
    slot = window * layout.n_periods + period_index(facts["periode"]) - layout.t_min
    kommune = np.searchsorted(layout.kommuner, facts["kommunekode"].to_numpy())
    fine = layout.fine(slot, kommune, per_value(facts["kategori"], _category_position))
    return fine.astype(np.int32) if layout.n_slots * len(layout.kommuner) * len(model.CATEGORIES) < 2**31 else fine


def _category_position(kategori: str) -> int:
    if kategori not in model.CATEGORIES:
        raise KeyFigureError(f"Ukendt kategori '{kategori}' i bygningsfakta (kendte: {', '.join(model.CATEGORIES)}).")
    return model.CATEGORIES.index(kategori)


def _sort_order(v: np.ndarray, group: np.ndarray | None = None, n_groups: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(order, v[order]): a permutation that sorts the float array `v` (no NaN) by `group` (integers
    0..n_groups-1, optional) and within a group by value ascending, exactly; and the sorted values.

    np.argsort on floats is 2-3 times slower than np.sort on integers, so each element becomes one
    integer: its group in the top bits, then the top bits of the value's order-preserving bit
    pattern, then the element's position in the last bits. Values of a group that differ only in the
    bits left out (a relative difference below about 2^-23 at national scale, e.g. the same ratio
    computed from different numbers) can then be out of order; those runs are put in exact order
    afterwards. Equal values may come in any order.
    """
    n = len(v)
    index_bits = max(1, (n - 1).bit_length())
    group_bits = (n_groups - 1).bit_length()
    shift, position_mask = np.uint64(index_bits), np.uint64((1 << index_bits) - 1)
    bits = v.view(np.uint64)
    keys = bits ^ np.uint64(1 << 63)  # order-preserving: set the sign bit of positives ...
    negative = np.signbit(v)  # also -0.0
    keys[negative] = ~bits[negative]  # ... and flip all bits of negatives
    keys >>= np.uint64(index_bits + group_bits)
    keys <<= shift
    if group_bits:
        keys |= group.astype(np.uint64) << np.uint64(64 - group_bits)
    keys |= np.arange(n, dtype=np.uint64)
    keys.sort()
    order = (keys & position_mask).view(np.int64)
    vs = np.take(v, order)  # np.take: a third faster than v[order] (numpy's fancy indexing) for millions
    down = np.flatnonzero(vs[1:] < vs[:-1])
    down = down[(keys[down] ^ keys[down + 1]) >> shift == 0]  # a step to the next group is in order
    if len(down):
        # the runs of keys with the same group and value bits around each step down (keys are sorted)
        cut = np.unique(keys[down] >> shift) << shift
        first = np.searchsorted(keys, cut)
        length = np.searchsorted(keys, cut | position_mask, side="right") - first
        run = np.repeat(np.arange(len(cut)), length)
        pos = first[run] + np.arange(len(run)) - np.repeat(np.cumsum(length) - length, length)  # within each run
        exact = pos[np.lexsort((vs[pos], run))]  # sort each run by exact value
        order[pos], vs[pos] = order[exact], vs[exact]
    return order, vs


def group_medians(x: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """The median of `x` within each group 0..n_groups-1 (NaN values left out; NaN for a group without
    values); for an even count the mean of the two middle values, as pandas' groupby median gives it,
    bit for bit. One sort (`_sort_order`) instead of pandas' sort per group: 4 times faster."""
    ok = ~np.isnan(x)
    xs, count, start = _sorted_by_group(x[ok], group[ok], n_groups)
    medians = np.full(n_groups, np.nan)
    has = np.flatnonzero(count)
    medians[has] = _middle(lambda i: xs[start[has] + i], count[has])
    return medians


def group_median_and_mad(x: np.ndarray, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group 0..n_groups-1 the count, the median and the median absolute deviation from the
    median of `x` (no NaN); NaN where a group has no values. Medians as `group_medians`.

    One sort: the deviations of a group's sorted values from its median are two sorted runs, the
    values below the median read backwards and the rest forwards. The k-th smallest deviation is
    found by a binary search per group for how many of the k + 1 smallest come from the run below,
    all groups at a time (a few dozen steps over the groups instead of a second sort of all values).
    """
    xs, count, start = _sorted_by_group(x, group, n_groups)
    median, mad = np.full(n_groups, np.nan), np.full(n_groups, np.nan)
    j = np.flatnonzero(count)  # the groups with values
    c, s = count[j], start[j]
    m = median[j] = _middle(lambda i: xs[s + i], c)
    below = np.bincount(group[x < median[group]], minlength=n_groups)[j]  # the run below: xs[s + below - 1 - i]

    def deviation(run_below: bool, i: np.ndarray) -> np.ndarray:
        """The i-th smallest deviation of the run below or above (any value where i is out of the run)."""
        at = s + below - 1 - i if run_below else s + below + i
        return np.abs(xs[np.clip(at, 0, len(xs) - 1)] - m)

    def kth(k: np.ndarray) -> np.ndarray:
        lo, hi = np.maximum(0, k + 1 - (c - below)), np.minimum(k + 1, below)  # how many from the run below
        while (searching := lo < hi).any():
            mid = (lo + hi) // 2
            more = searching & (deviation(True, mid) < deviation(False, k - mid))
            lo, hi = np.where(more, mid + 1, lo), np.where(searching & ~more, mid, hi)
        return np.maximum(np.where(lo > 0, deviation(True, lo - 1), -np.inf),
                          np.where(k - lo >= 0, deviation(False, k - lo), -np.inf))

    mad[j] = _middle(kth, c)
    return count, median, mad


def _sorted_by_group(x: np.ndarray, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`x` (no NaN) sorted by group and value, and each group's count and start in it."""
    _, xs = _sort_order(x, group, n_groups)
    count = np.bincount(group, minlength=n_groups)
    return xs, count, np.cumsum(count) - count


def _middle(kth, count: np.ndarray) -> np.ndarray:
    """The median of groups of `count` sorted values, `kth(i)` the i-th of each: the middle value, or
    the mean of the two middle ones."""
    return (kth((count - 1) // 2) + kth(count // 2)) / 2


def _group_stats(units: Units, layout: Layout, specs) -> list[dict]:
    """Sums, counts and quantiles of the unit values for every group level in `specs`.

    Returns per level a dict of arrays: slot, base (municipality position, kommunegruppe code or 0),
    kategori (position or -1 for all), taeller, naevner, antal_bygninger, p10, median, p90, plus
    niveau, unit and rows (the number of groups). Sums are added up once per finest group (slot,
    municipality, category) and rolled up from there.

    Every group lies within one slot (window x period). For the quantiles the values are sorted once
    by slot and value; per level, each slot's values are then ordered by (group, rank in the slot)
    with one small integer sort per slot (32-bit keys that fit in the CPU cache: about half the
    time of one sort of all values), and the quantiles are read off at the groups' offsets.
    """
    n = len(units.taeller)
    if n == 0:
        return []
    n_kom, n_cat = len(layout.kommuner), len(model.CATEGORIES)
    per_slot = n_kom * n_cat  # finest groups per slot
    n_fine = layout.n_slots * per_slot
    fine = units.fine
    fine_sums = {
        "count": np.bincount(fine, minlength=n_fine),
        "taeller": np.bincount(fine, weights=units.taeller, minlength=n_fine),
        "naevner": np.bincount(fine, weights=units.naevner, minlength=n_fine),
    }
    fine_sums["antal_bygninger"] = (fine_sums["count"] if units.antal is None
                                    else np.bincount(fine, weights=units.antal, minlength=n_fine))

    order, v_sorted = _sort_order(units.taeller / units.naevner, fine // per_slot, layout.n_slots)
    # the finest group (in its slot) of every sorted value, gathered from 16-bit cells: a source that fits in
    # the CPU cache makes this random gather several times faster than from 64-bit integers
    cell = (fine % per_slot).astype(np.int16 if per_slot <= 2**15 else np.int32)
    cell_sorted = np.take(cell, order)
    del cell
    del order  # two figures are sorted at a time: keep their memory small
    slot_counts = fine_sums["count"].reshape(layout.n_slots, per_slot).sum(axis=1)
    slot_bounds = np.concatenate([[0], np.cumsum(slot_counts)])
    bounds = slot_bounds.tolist()
    rank_bits = max(1, int(slot_counts.max() - 1).bit_length())
    key_type = np.uint32 if rank_bits + (per_slot - 1).bit_length() <= 32 else np.uint64
    rank = np.arange(int(slot_counts.max()), dtype=key_type)  # the rank of a value in its slot: rank[:length]
    rank_mask = key_type((1 << rank_bits) - 1)

    cell = np.arange(per_slot)
    cell_kat, cell_kom = cell % n_cat, cell // n_cat
    out = []
    key = np.empty(n, dtype=key_type)
    for niveau, unit, by_kategori in specs:
        n_base = {"kommune": n_kom, "gruppe": layout.n_gruppe, None: 1}[unit]
        n_sub = n_cat if by_kategori else 1
        per_group_slot = n_base * n_sub
        n_groups = layout.n_slots * per_group_slot
        # group id = slot * per_group_slot + sub, sub = base * n_sub + category (of a finest group)
        cell_base = {"kommune": cell_kom, "gruppe": layout.gruppe[cell_kom], None: np.zeros(per_slot, np.int64)}[unit]
        cell_sub = (cell_base * n_sub + (cell_kat if by_kategori else 0)).astype(key_type)
        fine_group = np.add.outer(np.arange(layout.n_slots) * per_group_slot, cell_sub).ravel()
        sums = {k: np.bincount(fine_group, weights=a, minlength=n_groups) for k, a in fine_sums.items()}
        counts = sums.pop("count").round().astype(np.int64)
        present = np.flatnonzero(counts)
        c, start = counts[present], (np.cumsum(counts) - counts)[present]
        level_key = None  # one group per slot: v_sorted is in the level's order already
        if per_group_slot > 1:
            # slot by slot, so that the slot's keys stay in the CPU cache from the gather to the sort
            # (over whole arrays, the gather, shift and or cost as much as the sorts)
            for a, b in zip(bounds[:-1], bounds[1:]):
                slot_key = key[a:b]
                np.take(cell_sub, cell_sorted[a:b], out=slot_key, mode="clip")  # clip: see _add_rolling_year
                slot_key <<= key_type(rank_bits)
                slot_key |= rank[: b - a]
                slot_key.sort()
            level_key = key
        group_slot_start = slot_bounds[present // per_group_slot]
        row = {
            "niveau": niveau,
            "unit": unit,
            "rows": len(present),
            "slot": present // per_group_slot,
            "base": (present // n_sub) % n_base,
            "kategori": present % n_sub if by_kategori else np.full(len(present), -1),
            "taeller": sums["taeller"][present],
            "naevner": sums["naevner"][present],
            "antal_bygninger": sums["antal_bygninger"][present].round().astype(np.int64),
        }
        for name, p in QUANTILES:
            h = (c - 1) * p
            lo = np.floor(h).astype(np.int64)
            hi = np.minimum(lo + 1, c - 1)
            lo_value, hi_value = (_read_off(v_sorted, level_key, rank_mask, group_slot_start, start + k)
                                  for k in (lo, hi))
            row[name] = lo_value + (hi_value - lo_value) * (h - lo)
        out.append(row)
    return out


def _read_off(v_sorted: np.ndarray, level_key: np.ndarray | None, rank_mask, slot_start: np.ndarray,
              i: np.ndarray) -> np.ndarray:
    """The values at positions i of a level's order (one per group, `slot_start` the start of its
    slot in `v_sorted`): the level's sorted key holds each value's rank in its slot in the low bits."""
    if level_key is None:
        return v_sorted[i]
    return v_sorted[(level_key[i] & rank_mask).astype(np.int64) + slot_start]


def _values(frame: pd.DataFrame, expr) -> np.ndarray:
    """An expression of the definitions sheet (`Expression.evaluate`) for every row of `frame`, NaN
    where it is not reported; the columns are read in place (no copy of the facts)."""
    x = expr.evaluate(lambda c: frame[c].to_numpy(dtype=np.float64, na_value=np.nan))
    return np.broadcast_to(x, (len(frame),))


def group_rows(store, facts: pd.DataFrame, udeladt: np.ndarray, defs: Definitions) -> pd.DataFrame:
    """All group rows of the mart (levels kategori, kommune, gruppe, alle) for every key figure.

    The figures are independent: GROUP_THREADS of them are computed at a time, each evaluated,
    sorted and summed in its own thread (numpy releases the GIL in the heavy parts), which also
    bounds the memory.
    """
    layout = layout_of(store, facts)
    keys = _row_keys(facts, layout)
    kommuner = store.query("SELECT * FROM kommuner")
    release_buffers(store.con)  # what DuckDB cached in earlier phases: the figures in flight need the memory
    counted = ~udeladt

    def figure_stats(kf: KeyFigure) -> list[dict]:
        specs = [s for s in GROUP_SPECS if s[0] in kf.niveauer]
        if _is_municipal(defs, kf):
            units = _municipal_units(facts, kommuner, defs, kf, keys, udeladt, layout)
            specs = [s for s in specs if not s[2]]  # a municipality unit has no category
        else:
            t = _values(facts, defs.expression(kf.id, "taeller"))
            n = _values(facts, defs.expression(kf.id, "naevner"))
            ok = ~np.isnan(t) & (n > 0) & counted  # a mask: a tenth of the memory of positions
            units = Units(fine=keys[ok], taeller=t[ok], naevner=n[ok], antal=None)
        return [{**row, "noegletal": kf.id} for row in _group_stats(units, layout, specs)]

    with ThreadPoolExecutor(max_workers=GROUP_THREADS) as pool:
        stats = [row for rows in pool.map(figure_stats, defs.noegletal) for row in rows]
    return _mart_frame(stats, layout, defs)


def _municipal_units(facts: pd.DataFrame, kommuner: pd.DataFrame, defs: Definitions, kf: KeyFigure, keys,
                     udeladt, layout: Layout) -> Units:
    """One unit per municipality and window: the building part summed, the municipality part taken once."""
    n_kom = len(layout.kommuner)
    size = layout.n_slots * n_kom
    slot_kommune = keys // len(model.CATEGORIES)
    parts, counts = {}, np.zeros(size, dtype=np.int64)
    for part in ("taeller", "naevner"):
        expr = defs.expression(kf.id, part)
        if expr.columns and set(expr.columns) <= MUNICIPAL_COLUMNS:
            lookup = dict(zip(kommuner["kommunekode"].astype(int), _values(kommuner, expr)))
            parts[part] = np.tile([lookup.get(int(k), np.nan) for k in layout.kommuner], layout.n_slots)
        else:
            x = _values(facts, expr)
            ok = ~np.isnan(x) & ~udeladt
            parts[part] = np.bincount(slot_kommune[ok], weights=x[ok], minlength=size)
            counts = np.bincount(slot_kommune[ok], minlength=size)
    idx = np.flatnonzero((counts > 0) & ~np.isnan(parts["taeller"]) & (parts["naevner"] > 0))
    return Units(
        fine=layout.fine(idx // n_kom, idx % n_kom, 0),
        taeller=parts["taeller"][idx], naevner=parts["naevner"][idx], antal=counts[idx].astype(np.float64),
    )


def _mart_frame(stats: list[dict], layout: Layout, defs: Definitions) -> pd.DataFrame:
    """The group rows as a frame with the mart's columns, from `_group_stats`' integer keys."""
    if not stats:
        return _empty_mart()
    periods = [f"{(layout.t_min + i) // 4}Q{(layout.t_min + i) % 4 + 1}" for i in range(layout.n_periods)]
    figures = [kf.id for kf in defs.noegletal]
    levels = ["kategori", "kommune", "gruppe", "alle"]
    gruppe_labels = [f"kommunegruppe_{g}" for g in range(layout.n_gruppe)]
    kommune_labels = [str(k) for k in layout.kommuner]
    col = {k: np.concatenate([r.pop(k) for r in stats]) for k in (
        "slot", "base", "kategori", "taeller", "naevner", "antal_bygninger", "p10", "median", "p90")}
    stat = np.repeat(np.arange(len(stats)), [r["rows"] for r in stats])  # row -> its stats entry
    niveau = np.array([levels.index(r["niveau"]) for r in stats])[stat]
    figure = np.array([figures.index(r["noegletal"]) for r in stats])[stat]
    del stat
    by_kommune = niveau <= levels.index("kommune")
    # enhed: the category (kategori level), the municipality code, the group id or "alle"
    enhed_labels = [*model.CATEGORIES, *kommune_labels, *gruppe_labels, "alle"]
    enhed = np.select(
        [niveau == 0, niveau == 1, niveau == 2],
        [col["kategori"], len(model.CATEGORIES) + col["base"], len(model.CATEGORIES) + len(kommune_labels) + col["base"]],
        default=len(enhed_labels) - 1,
    )
    # text as categories (codes, no strings per row; stored as VARCHAR), built directly from the codes
    out = pd.DataFrame({
        "periode": pd.Categorical.from_codes(col["slot"] % layout.n_periods, periods),
        "vindue": pd.Categorical.from_codes(col.pop("slot") // layout.n_periods, list(WINDOWS)),
        "niveau": pd.Categorical.from_codes(niveau, levels),
        "kommunekode": pd.arrays.IntegerArray(layout.kommuner[np.where(by_kommune, col["base"], 0)].astype(np.int64),
                                              ~by_kommune),
        "enhed": pd.Categorical.from_codes(enhed, enhed_labels),
        "kategori": pd.Categorical.from_codes(col.pop("kategori"), list(model.CATEGORIES)),
        "noegletal": pd.Categorical.from_codes(figure, figures),
        "vaerdi": col["taeller"] / col["naevner"],
        **{c: col.pop(c) for c in ("taeller", "naevner", "antal_bygninger", "median", "p10", "p90")},
    }, copy=False)
    return out[GROUP_COLUMNS]


def _empty_mart() -> pd.DataFrame:
    types = {"kommunekode": "Int64", "antal_bygninger": "int64"}
    floats = {"vaerdi", "taeller", "naevner", "median", "p10", "p90"}
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, "float64" if c in floats else "str")) for c in GROUP_COLUMNS})


# --------------------------------------------------------------------------------------------------
# 4. Building rows and the mart view
# --------------------------------------------------------------------------------------------------


def building_figures(defs: Definitions) -> list[KeyFigure]:
    return [kf for kf in defs.noegletal if "bygning" in kf.niveauer and not _is_municipal(defs, kf)]


def mart_view_sql(defs: Definitions) -> str:
    """The whole mart: the stored group rows plus one SELECT of building rows per key figure.

    Building rows are `bygningsfakta` rows with a value (numerator reported, denominator > 0); the
    expressions are the definitions sheet's, so the view always matches the stored version. The group
    rows' columns that are the same on every row (definitions version, udeladt, udeladt_aarsag; not
    in `GROUP_COLUMNS`) are added here.
    """
    version = _text(defs.version)
    selects = [f"SELECT {', '.join(GROUP_COLUMNS)}, {version} AS definitioner_version, false AS udeladt, "
               f"CAST(NULL AS VARCHAR) AS udeladt_aarsag FROM {GROUP_TABLE}"]
    for kf in building_figures(defs):
        t_sql = defs.expression(kf.id, "taeller").sql()
        n_sql = defs.expression(kf.id, "naevner").sql()
        selects.append(
            f"SELECT periode, vindue, 'bygning' AS niveau, kommunekode, bygning_id AS enhed, kategori, "
            f"{_text(kf.id)} AS noegletal, taeller / naevner AS vaerdi, taeller, naevner, "
            "CAST(NULL AS BIGINT) AS antal_bygninger, CAST(NULL AS DOUBLE) AS median, CAST(NULL AS DOUBLE) AS p10, "
            f"CAST(NULL AS DOUBLE) AS p90, {version} AS definitioner_version, udeladt, udeladt_aarsag "
            f"FROM (SELECT *, CAST({t_sql} AS DOUBLE) AS taeller, CAST({n_sql} AS DOUBLE) AS naevner FROM {FACTS_TABLE}) "
            "WHERE taeller IS NOT NULL AND naevner > 0"
        )
    return "\nUNION ALL\n".join(selects)
