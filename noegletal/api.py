"""The Python API for analysts in JupyterLab: read the key-figure mart without writing SQL.

Open the database once, then ask for tidy frames (one row per value, Danish names and units joined
from the definitions sheet)::

    >>> from noegletal import api
    >>> mart = api.open_mart("data/noegletal.duckdb")          # or api.open_mart() for the default database
    >>> mart.key_figures(kommunekode=101, periode="2026Q2")     # all key figures of København, rolling year
    >>> mart.key_figures(periode="2026Q2", noegletal="driftsudgift_pr_m2")   # every municipality
    >>> mart.buildings_behind(101, "2026Q2", "driftsudgift_pr_m2")            # drill-down to the buildings
    >>> mart.trend(101, "varme_normaliseret_kwh_pr_m2")                        # own development over time
    >>> mart.close()

`Mart` is also a context manager (`with api.open_mart() as mart: ...`). The database is opened
read-only, so a notebook never changes data and can run while others read the same file. The
mart is built by `noegletal compute`; `mart.store` is the underlying `Store` for the functions in
`noegletal.peers`, `noegletal.benchmark` and `noegletal.scenarios`, which take a store.

Values are as in the export: `vaerdi = taeller / naevner`; group rows (niveau kategori, kommune,
gruppe, alle) are ratios of sums over the buildings that reported both, with `antal_bygninger`
and `median`, `p10`, `p90` of the building values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from noegletal import definitions, keyfigures
from noegletal.definitions import Definitions
from noegletal.store import Store

DEFAULT_WINDOW = "loebende_aar"


class MartError(ValueError):
    """A question the mart cannot answer (no mart yet, unknown key figure, no such value); Danish message."""


def open_mart(db: str | Path | None = None, defs: Definitions | None = None) -> Mart:
    """Open the key-figure mart in `db` (default: $NOEGLETAL_DB, else data/noegletal.duckdb), read-only.

    >>> mart = open_mart("data/noegletal.duckdb")
    """
    store = Store(db, read_only=True)
    if not store.has_table(keyfigures.MART_VIEW):
        store.close()
        raise MartError(f"Databasen {store.path} har ingen nøgletal endnu. Kør først 'noegletal compute'.")
    return Mart(store, defs if defs is not None else definitions.default())


def _as_list(value) -> list | None:
    if value is None:
        return None
    if isinstance(value, (str, int, np.integer)):
        return [value]
    return list(value)


class Mart:
    """The key-figure mart of one database. Create it with `open_mart`."""

    def __init__(self, store: Store, defs: Definitions):
        self.store = store
        self.defs = defs
        info = store.table("mart_info") if store.has_table("mart_info") else pd.DataFrame()
        #: definitions version, time of computation, package version and data as of (one row)
        self.info = info

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Mart:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reference -----------------------------------------------------------------------------
    def definitions_table(self) -> pd.DataFrame:
        """The key figures of the definitions sheet: id, Danish name and unit, direction, parent, levels.

        >>> mart.definitions_table().set_index("noegletal").loc["driftsudgift_pr_m2", "navn_da"]
        'Driftsudgift pr. m²'
        """
        return pd.DataFrame([
            {"noegletal": k.id, "navn_da": k.navn_da, "enhed_da": k.enhed_da, "retning": k.retning,
             "parent": k.parent, "niveauer": ", ".join(k.niveauer)}
            for k in self.defs.noegletal
        ])

    def periods(self) -> list[str]:
        """The quarters in the mart, oldest first."""
        return self.store.query(
            f"SELECT DISTINCT periode FROM {keyfigures.MART_VIEW} WHERE niveau <> 'bygning' ORDER BY 1"
        )["periode"].tolist()

    def _check_figure(self, noegletal: str) -> None:
        if noegletal not in self.defs.ids():
            raise MartError(f"Ukendt nøgletal '{noegletal}'. Se mart.definitions_table() for de kendte.")

    # -- reading -------------------------------------------------------------------------------
    def key_figures(
        self,
        kommunekode: int | Sequence[int] | None = None,
        periode: str | Sequence[str] | None = None,
        vindue: str = DEFAULT_WINDOW,
        niveau: str = "kommune",
        noegletal: str | Sequence[str] | None = None,
        kategori: str | Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Key-figure values as a tidy frame, with the key figure's Danish name and unit.

        Every argument filters (None = all); `kommunekode`, `periode`, `noegletal` and `kategori`
        take one value or a list. `niveau` is bygning, kategori, kommune, gruppe or alle; on levels
        gruppe and alle, `kategori=None` gives the rows for all buildings and the per-category rows.

        >>> mart.key_figures(kommunekode=[101, 147], periode="2026Q2", noegletal="driftsudgift_pr_m2")
        """
        if niveau not in keyfigures.LEVELS:
            raise MartError(f"Ukendt niveau '{niveau}' (kendte: {', '.join(keyfigures.LEVELS)}).")
        if vindue not in keyfigures.WINDOWS:
            raise MartError(f"Ukendt vindue '{vindue}' (kendte: {', '.join(keyfigures.WINDOWS)}).")
        for k in _as_list(noegletal) or []:
            self._check_figure(k)
        cond, params = ["vindue = ?", "niveau = ?"], [vindue, niveau]
        for column, value in (("kommunekode", kommunekode), ("periode", periode), ("noegletal", noegletal),
                              ("kategori", kategori)):
            values = _as_list(value)
            if values is not None:
                cond.append(f"{column} IN ({', '.join('?' * len(values))})")
                params += [int(v) if column == "kommunekode" else str(v) for v in values]
        df = self.store.query(
            f"SELECT * FROM {keyfigures.MART_VIEW} WHERE {' AND '.join(cond)} "
            "ORDER BY periode, kommunekode, kategori NULLS FIRST, enhed, noegletal",
            params,
        )
        names = self.definitions_table()[["noegletal", "navn_da", "enhed_da"]]
        kommuner = self.store.municipalities()[["kommunekode", "navn"]].rename(columns={"navn": "kommune"})
        df = df.merge(names, on="noegletal", how="left").merge(kommuner, on="kommunekode", how="left")
        front = ["periode", "vindue", "niveau", "kommunekode", "kommune", "enhed", "kategori", "noegletal", "navn_da",
                 "vaerdi", "enhed_da"]
        return df[front + [c for c in df.columns if c not in front]]

    def buildings_behind(
        self,
        kommunekode: int,
        periode: str,
        noegletal: str,
        vindue: str = DEFAULT_WINDOW,
        kategori: str | None = None,
    ) -> pd.DataFrame:
        """The buildings behind a municipality's (or, with `kategori`, a category's) group figure.

        One row per building in the group figure, sorted by `bidrag` (largest first): how much of
        the numerator the building has beyond the group's own rate, `taeller - vaerdi_gruppe *
        naevner` (kr. above what its m² would cost at the municipality's rate, for a cost per m²).
        The contributions add up to 0; `andel_taeller` is the building's share of the numerator.
        Buildings left out because of a data error are not in the group and not in the result.
        The group value is checked to equal SUM(taeller) / SUM(naevner) of these buildings and is
        in `df.attrs["gruppevaerdi"]`.

        >>> mart.buildings_behind(101, "2026Q2", "driftsudgift_pr_m2", kategori="skole").head(10)
        """
        self._check_figure(noegletal)
        kf = self.defs[noegletal]
        if "bygning" not in kf.niveauer:
            raise MartError(f"Nøgletallet '{noegletal}' har ingen bygningstal (niveauer: {', '.join(kf.niveauer)}).")
        niveau, extra, params = ("kategori", "AND kategori = ?", [kategori]) if kategori else ("kommune", "", [])
        group = self.store.query(
            f"SELECT vaerdi, taeller, naevner, antal_bygninger FROM {keyfigures.MART_VIEW} "
            f"WHERE niveau = ? AND kommunekode = ? AND periode = ? AND vindue = ? AND noegletal = ? {extra}",
            [niveau, int(kommunekode), periode, vindue, noegletal, *params],
        )
        if group.empty:
            where = f"kommune {kommunekode}" + (f", kategori {kategori}" if kategori else "")
            raise MartError(f"Der er ingen værdi for {noegletal} i {periode} ({vindue}, {where}).")
        value = float(group["vaerdi"].iloc[0])
        buildings = self.store.query(
            f"SELECT m.enhed AS bygning_id, f.navn, m.kategori, m.vaerdi, m.taeller, m.naevner "
            f"FROM {keyfigures.MART_VIEW} m JOIN {keyfigures.FACTS_TABLE} f "
            "ON f.kommunekode = m.kommunekode AND f.bygning_id = m.enhed AND f.periode = m.periode "
            "AND f.vindue = m.vindue "
            "WHERE m.niveau = 'bygning' AND NOT m.udeladt AND m.kommunekode = ? AND m.periode = ? AND m.vindue = ? "
            f"AND m.noegletal = ? {extra.replace('kategori', 'm.kategori')}",
            [int(kommunekode), periode, vindue, noegletal, *params],
        )
        total_t, total_n = buildings["taeller"].sum(), buildings["naevner"].sum()
        if len(buildings) != int(group["antal_bygninger"].iloc[0]) or not np.isclose(total_t / total_n, value, rtol=1e-9):
            raise MartError(
                f"Bygningerne bag {noegletal} ({kommunekode}, {periode}) giver ikke gruppetallet: marten er ikke "
                "opdateret. Kør 'noegletal compute' igen."
            )
        buildings["andel_taeller"] = buildings["taeller"] / total_t if total_t else np.nan
        buildings["bidrag"] = buildings["taeller"] - value * buildings["naevner"]
        buildings = buildings.sort_values(["bidrag", "bygning_id"], ascending=[False, True], ignore_index=True)
        buildings.attrs["gruppevaerdi"] = value
        return buildings

    def trend(
        self,
        kommunekode: int,
        noegletal: str,
        vindue: str = DEFAULT_WINDOW,
        kategori: str | None = None,
    ) -> pd.DataFrame:
        """A municipality's value of one key figure in every quarter, beside all members.

        Columns: periode, vaerdi, antal_bygninger, alle_vaerdi (ratio of sums over all members'
        buildings), alle_median, alle_p10, alle_p90 (of the building values, or of the municipality
        values for municipality figures such as areal_pr_indbygger).

        >>> mart.trend(101, "driftsudgift_pr_m2", kategori="skole")
        """
        self._check_figure(noegletal)
        own_level, extra, params = ("kategori", "AND kategori = ?", [kategori]) if kategori else ("kommune", "", [])
        all_cond = "kategori = ?" if kategori else "kategori IS NULL"
        return self.store.query(
            f"""
            SELECT a.periode, o.vaerdi, o.antal_bygninger, a.vaerdi AS alle_vaerdi, a.median AS alle_median,
                   a.p10 AS alle_p10, a.p90 AS alle_p90
            FROM (SELECT * FROM {keyfigures.MART_VIEW}
                  WHERE niveau = 'alle' AND vindue = ? AND noegletal = ? AND {all_cond}) a
            LEFT JOIN (SELECT * FROM {keyfigures.MART_VIEW}
                       WHERE niveau = ? AND kommunekode = ? AND vindue = ? AND noegletal = ? {extra}) o
              USING (periode)
            ORDER BY a.periode
            """,
            [vindue, noegletal, *params, own_level, int(kommunekode), vindue, noegletal, *params],
        )

    # -- peers and benchmarks ------------------------------------------------------------------
    # Thin wrappers around noegletal.peers, noegletal.benchmark and noegletal.scenarios (see their
    # docstrings for the methods); a peer set may be given as a PeerSet or by its id.

    def structure(self, periode: str) -> pd.DataFrame:
        """Structural variables of every member (population, density, kommunegruppe, area mix, age, size).

        >>> mart.structure("2026Q2")
        """
        from noegletal import peers

        return peers.structure(self.store, periode)

    def peer_sets(self, kommunekode: int, periode: str, n: int = 5, weights: dict | None = None,
                  k: int | None = None, seed: int = 0) -> list:
        """The municipality's peer sets: kommunegruppe, the n most similar, all members, (k given) its cluster.

        >>> [(p.id, p.navn_da, len(p)) for p in mart.peer_sets(101, "2026Q2")]
        """
        from noegletal import peers

        return peers.peer_sets(self.store, kommunekode, periode, n=n, weights=weights, k=k, seed=seed)

    def nearest(self, kommunekode: int, periode: str, n: int = 5, weights: dict | None = None) -> pd.DataFrame:
        """The n most similar members with their distance (nearest first).

        >>> mart.nearest(101, "2026Q2", weights={"befolkning": 2, "arealmix": 1})
        """
        from noegletal import peers

        return peers.distances(self.store, kommunekode, periode, weights).head(int(n))

    def _peer_set(self, kommunekode: int, periode: str, peer_set):
        if not isinstance(peer_set, str):
            return peer_set
        found = {p.id: p for p in self.peer_sets(kommunekode, periode)}
        if peer_set not in found:
            raise MartError(f"Ukendt sammenligningsgruppe '{peer_set}' (kendte: {', '.join(found)}).")
        return found[peer_set]

    def position(self, kommunekode: int, periode: str, noegletal: str, vindue: str = DEFAULT_WINDOW,
                 kategori: str | None = None, peer_sets: list | None = None) -> pd.DataFrame:
        """Rank, percentile, peer-set figure and peer median in each peer set (default: `peer_sets(...)`).

        >>> mart.position(101, "2026Q2", "driftsudgift_pr_m2")
        """
        from noegletal import benchmark

        sets = peer_sets if peer_sets is not None else self.peer_sets(kommunekode, periode)
        return benchmark.position(self.store, kommunekode, periode, noegletal, sets, vindue, kategori, self.defs)

    def changes(self, kommunekode: int, periode: str, noegletal: str, vindue: str = DEFAULT_WINDOW,
                kategori: str | None = None) -> pd.DataFrame:
        """Change against the previous quarter and the same quarter last year.

        >>> mart.changes(101, "2026Q2", "driftsudgift_pr_m2")
        """
        from noegletal import benchmark

        return benchmark.changes(self.store, kommunekode, periode, noegletal, vindue, kategori, self.defs)

    def expected(self, periode: str, noegletal: str, vindue: str = DEFAULT_WINDOW, kategori: str | None = None):
        """Actual vs expected value from structure for every member (an `Expectation`; see `.tabel`, `.note`).

        >>> mart.expected("2026Q2", "driftsudgift_pr_m2").tabel
        """
        from noegletal import benchmark

        return benchmark.expected(self.store, periode, noegletal, vindue, kategori)

    def decompose(self, kommunekode: int, periode: str, noegletal: str, peer_set="alle",
                  benchmark: str = "peer_median", vindue: str = DEFAULT_WINDOW,
                  kategori: str | None = None) -> pd.DataFrame:
        """The gap to the benchmark split into the child key figures (rows add up to the total).

        >>> mart.decompose(101, "2026Q2", "driftsudgift_pr_m2", peer_set="naermeste_5")
        """
        from noegletal import benchmark as bm

        ps = self._peer_set(kommunekode, periode, peer_set)
        return bm.decompose(self.store, kommunekode, periode, noegletal, ps, vindue, benchmark, kategori, self.defs)

    def building_contributions(self, kommunekode: int, periode: str, noegletal: str, peer_set="alle",
                               benchmark: str = "peer_median", vindue: str = DEFAULT_WINDOW,
                               kategori: str | None = None, top: int | None = 10) -> pd.DataFrame:
        """The own buildings that put the municipality furthest above the benchmark.

        >>> mart.building_contributions(101, "2026Q2", "driftsudgift_pr_m2", top=5)
        """
        from noegletal import benchmark as bm

        ps = self._peer_set(kommunekode, periode, peer_set)
        value = bm.benchmark_value(self.store, kommunekode, periode, noegletal, ps, vindue, benchmark, kategori, self.defs)
        return bm.building_contributions(self.store, kommunekode, periode, noegletal, value, vindue, kategori, top,
                                         self.defs)

    def savings(self, kommunekode: int, periode: str, noegletal: str, peer_set="alle",
                benchmark: str = "peer_median", vindue: str = DEFAULT_WINDOW, kategori: str | None = None) -> dict:
        """Savings potential: max(0, own − benchmark) × own m² (or users), never a negative saving.

        >>> mart.savings(101, "2026Q2", "driftsudgift_pr_m2", benchmark="best_quartile")
        """
        from noegletal import benchmark as bm

        ps = self._peer_set(kommunekode, periode, peer_set)
        return bm.savings(self.store, kommunekode, periode, noegletal, ps, vindue, benchmark, kategori, self.defs)

    def scenario_facts(self, kommunekode: int, periode: str, vindue: str = DEFAULT_WINDOW) -> pd.DataFrame:
        """The municipality's own building facts of one quarter and window, for `noegletal.scenarios`.

        >>> from noegletal import scenarios
        >>> scenarios.reduce_area(mart.scenario_facts(101, "2026Q2"), 101, 5)
        """
        return self.store.query(
            f"SELECT * FROM {keyfigures.FACTS_TABLE} WHERE kommunekode = ? AND periode = ? AND vindue = ? "
            "ORDER BY bygning_id",
            [int(kommunekode), periode, vindue],
        )

    # -- for the report notebooks: the round's peer set, names, findings, exclusions, groups ---------
    def round_peer_sets(self, kommunekode: int, periode: str, metode: str = "naermeste", antal: int = 5,
                        klynger: int = 4, vaegte: dict[str, float] | None = None) -> list:
        """The municipality's peer sets with the one chosen by the round setting `peer_metode` first.

        `metode`: naermeste (the `antal` most similar, weights `vaegte`), kommunegruppe, alle, or
        klynge (k-means with `klynger` clusters); the other sets follow in `peer_sets` order. When the
        chosen set has no other members (a kommunegruppe with one member), all members come first:
        the reports name the set they use, so the reader sees the fallback.

        >>> chosen, *others = mart.round_peer_sets(101, "2026Q2", metode="kommunegruppe")
        """
        from noegletal import peers

        if metode not in peers.PEER_METHODS:
            raise MartError(f"Ukendt sammenligningsmetode '{metode}' (kendte: {', '.join(peers.PEER_METHODS)}).")
        others = len(peers.members(self.store, periode)) - 1
        # never more "most similar" or clusters than there are members: the set's name says how many it holds
        sets = self.peer_sets(kommunekode, periode, n=max(1, min(int(antal), others)), weights=vaegte,
                              k=max(2, min(int(klynger), others + 1)) if metode == "klynge" else None)
        chosen = [s for s in sets if s.id.startswith(metode) and len(s)]
        if not chosen:  # e.g. the only member of its kommunegruppe: compare with all members instead
            chosen = [s for s in sets if s.id == "alle"]
        return chosen + [s for s in sets if s not in chosen]

    def municipality_names(self) -> dict[int, str]:
        """Municipality code → name, for all 98 municipalities."""
        kom = self.store.municipalities()
        return dict(zip(kom["kommunekode"].astype(int), kom["navn"]))

    def findings(self, periode: str | None = None, kommunekode: int | None = None) -> pd.DataFrame:
        """Data-quality findings (table `fund`) with the municipality's name and the rule's Danish title.

        Sorted with blocking errors (`fejl`) first, then by municipality and building.

        >>> mart.findings("2026Q2", kommunekode=101)
        """
        from noegletal import quality

        cond, params = [], []
        if periode is not None:
            cond.append("periode = ?")
            params.append(periode)
        if kommunekode is not None:
            cond.append("kommunekode = ?")
            params.append(int(kommunekode))
        where = f"WHERE {' AND '.join(cond)}" if cond else ""
        fund = self.store.query(
            f"SELECT * FROM fund {where} ORDER BY CASE alvor WHEN 'fejl' THEN 0 ELSE 1 END, kommunekode, navn, "
            "bygning_id, periode, regel",
            params,
        ) if self.store.has_table("fund") else quality.empty_findings()
        fund["kommunekode"] = fund["kommunekode"].astype("Int64")
        fund.insert(2, "kommune", fund["kommunekode"].map(self.municipality_names()))
        fund["regel_titel"] = fund["regel"].map(lambda r: quality.RULES[r].titel if r in quality.RULES else r)
        return fund.reset_index(drop=True)

    def excluded(self, periode: str, vindue: str = DEFAULT_WINDOW, kommunekode: int | None = None) -> pd.DataFrame:
        """Buildings left out of the group figures because of a blocking finding, with the finding.

        One row per excluded building and blocking finding (`fejl`) in the window's quarters: columns
        kommunekode, kommune, bygning_id, navn, kategori, udeladt_aarsag, and from the finding
        fund_periode, regel, regel_titel, kolonne (empty if the finding is no longer in `fund`).
        """
        from noegletal import model, quality

        extra, params = ("AND kommunekode = ?", [int(kommunekode)]) if kommunekode is not None else ("", [])
        df = self.store.query(
            f"SELECT kommunekode, bygning_id, navn, kategori, udeladt_aarsag FROM {keyfigures.FACTS_TABLE} "
            f"WHERE udeladt AND periode = ? AND vindue = ? {extra} ORDER BY kommunekode, navn, bygning_id",
            [periode, vindue, *params],
        )
        df["kommunekode"] = df["kommunekode"].astype(int)
        df.insert(1, "kommune", df["kommunekode"].map(self.municipality_names()))
        quarters = [model.shift_period(periode, -i) for i in range(4 if vindue == "loebende_aar" else 1)]
        fund = self.store.query(
            "SELECT kommunekode, bygning_id, periode AS fund_periode, regel, kolonne FROM fund "
            f"WHERE alvor = 'fejl' AND periode IN ({', '.join('?' * len(quarters))}) ORDER BY periode, regel",
            quarters,
        ) if self.store.has_table("fund") and len(df) else pd.DataFrame(
            columns=["kommunekode", "bygning_id", "fund_periode", "regel", "kolonne"])
        fund["kommunekode"] = fund["kommunekode"].astype(int)
        fund["regel_titel"] = fund["regel"].map(lambda r: quality.RULES[r].titel if r in quality.RULES else r)
        return df.merge(fund, on=["kommunekode", "bygning_id"], how="left")

    def groups(self, periode: str) -> pd.DataFrame:
        """The kommunegrupper with members in the quarter: enhed (as on mart rows of niveau gruppe),
        kode, navn and antal_kommuner (members with building facts in the quarter)."""
        from noegletal import peers

        kom = self.store.municipalities()
        kom = kom[kom["kommunekode"].astype(int).isin(peers.members(self.store, periode))]
        out = (kom.groupby(["kommunegruppe_kode", "kommunegruppe"], as_index=False)
               .agg(antal_kommuner=("kommunekode", "count"))
               .rename(columns={"kommunegruppe_kode": "kode", "kommunegruppe": "navn"}))
        out["kode"] = out["kode"].astype(int)
        out.insert(0, "enhed", [f"kommunegruppe_{k}" for k in out["kode"]])
        return out.sort_values("kode", ignore_index=True)


# -- properties (e.g. a school of several buildings) and the school-structure example ------------------
def properties(facts: pd.DataFrame) -> pd.DataFrame:
    """One row per property (`ejendom_id`) of a facts frame: a school is usually several buildings.

    Columns: ejendom_id, navn (the buildings' common name, e.g. "Vangskolen (Aarhus)" for
    "Vangskolen (Aarhus), bygning 1" …), kategori, antal_bygninger, bygninger (ids), stoerste_bygning,
    bruttoareal_m2, brugere, m2_pr_bruger and brugere_pr_m2 (over the buildings that report users).
    """
    rows = []
    for ejendom, part in facts.groupby("ejendom_id", sort=True):
        part = part.sort_values(["bruttoareal_m2", "bygning_id"], ascending=[False, True])
        area = pd.to_numeric(part["bruttoareal_m2"], errors="coerce").astype(float)
        users = pd.to_numeric(part["brugere"], errors="coerce").astype(float)
        with_users = users.notna() & (area > 0)
        n_users = float(users[with_users].sum())
        area_users = float(area[with_users].sum())
        rows.append({
            "ejendom_id": str(ejendom),
            "navn": _common_name(part["navn"].astype(str).tolist()),
            "kategori": part["kategori"].mode().iloc[0] if part["kategori"].notna().any() else None,
            "antal_bygninger": len(part),
            "bygninger": tuple(sorted(part["bygning_id"].astype(str))),
            "stoerste_bygning": str(part["bygning_id"].iloc[0]),
            "bruttoareal_m2": float(area.sum()),
            "brugere": n_users if with_users.any() else np.nan,
            "m2_pr_bruger": area_users / n_users if n_users > 0 else np.nan,
            "brugere_pr_m2": n_users / area_users if area_users > 0 and with_users.any() else np.nan,
        })
    return pd.DataFrame(rows, columns=["ejendom_id", "navn", "kategori", "antal_bygninger", "bygninger",
                                       "stoerste_bygning", "bruttoareal_m2", "brugere", "m2_pr_bruger",
                                       "brugere_pr_m2"])


def pick_merger(props: pd.DataFrame, n_close: int = 2) -> dict[str, str]:
    """A school-structure example: which properties to close and where their users go.

    Closed: the `n_close` properties with the fewest users per m² (ties by ejendom_id). Each goes,
    in that order, to the open property with the most spare room: its m² divided by the median m²
    per user of all the properties, minus its users (how many more users its m² would hold at the
    typical density), counting the users it has already received. Only properties with users count.
    Returns {closed ejendom_id: receiving ejendom_id}.
    """
    have = props[props["brugere_pr_m2"].notna() & (props["brugere"] > 0)]
    if len(have) < int(n_close) + 1:
        raise MartError(
            f"Der skal være mindst {int(n_close) + 1} ejendomme med indberettede brugere for at lukke {int(n_close)} "
            f"og flytte brugerne; der er {len(have)}."
        )
    ordered = have.sort_values(["brugere_pr_m2", "ejendom_id"], kind="stable").set_index("ejendom_id")
    closed = list(ordered.index[: int(n_close)])
    typical = float(have["m2_pr_bruger"].median())
    rest = ordered.iloc[int(n_close):]
    room = (rest["bruttoareal_m2"] / typical - rest["brugere"]).sort_index()
    plan = {}
    for e in closed:
        receiver = str(room.idxmax())  # the first of equal rooms in ejendom_id order
        plan[str(e)] = receiver
        room[receiver] -= float(ordered.loc[e, "brugere"])
    return plan


def _common_name(names: list[str]) -> str:
    """The name the buildings share: their common leading comma-separated parts ("Vangskolen (Aarhus)"
    for "Vangskolen (Aarhus), bygning 1" and "…, bygning 2"), else their common leading words, else
    the first name."""
    if len(set(names)) == 1:
        return names[0]
    for sep in (", ", " "):
        common = []
        for group in zip(*(n.split(sep) for n in names)):
            if len(set(group)) > 1:
                break
            common.append(group[0])
        if common:
            return sep.join(common).rstrip(" ,-")
    return names[0]


def property_effects(scenario: pd.DataFrame, facts: pd.DataFrame, ejendom_ids: list[str]) -> pd.DataFrame:
    """A closing scenario (`scenarios.close_buildings`) summed up per property (e.g. per school).

    For each property in `ejendom_ids`: bruttoareal_m2, brugere and m2_pr_bruger before and after
    (columns `<maal>_foer`, `<maal>_efter`); a building the scenario does not touch keeps its values.
    m² per user is over the buildings that report users, as the key figure areal_pr_bruger.
    """
    touched = scenario[scenario["enhed"] != "i_alt"].pivot_table(
        index="enhed", columns="maal", values="efter", aggfunc="first")
    rows = []
    for ejendom in ejendom_ids:
        part = facts[facts["ejendom_id"].astype(str) == str(ejendom)]
        ids = part["bygning_id"].astype(str)
        area = pd.to_numeric(part["bruttoareal_m2"], errors="coerce").astype(float).set_axis(ids)
        users = pd.to_numeric(part["brugere"], errors="coerce").astype(float).set_axis(ids)
        area_after = area.copy()
        users_after = users.copy()
        for b in ids:
            if b in touched.index:
                area_after[b] = touched.loc[b, "bruttoareal_m2"]
                users_after[b] = touched.loc[b, "brugere"]
        row = {"ejendom_id": str(ejendom), "navn": _common_name(part.sort_values("bruttoareal_m2", ascending=False)
                                                                ["navn"].astype(str).tolist())}
        for when, a, u in (("foer", area, users), ("efter", area_after, users_after)):
            with_users = u.notna() & (a > 0)
            n = float(u[with_users].sum())
            row[f"bruttoareal_m2_{when}"] = float(a.sum())
            row[f"brugere_{when}"] = n if with_users.any() else np.nan
            row[f"m2_pr_bruger_{when}"] = float(a[with_users].sum()) / n if n > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
