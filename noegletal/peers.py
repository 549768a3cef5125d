"""Peer sets: who a municipality is compared with.

Three kinds (DESIGN.md, "Comparison methods"):
- Danmarks Statistik's kommunegrupper (1 Hovedstadskommuner … 5 Landkommuner, from the store's
  `kommuner` table) and all members;
- the N most similar municipalities ("mest lignende"): nearest neighbours on standardised structural
  variables with configurable weights;
- optionally k-means clusters on the same variables (scikit-learn, fixed random_state).
Only members count: municipalities with building facts in the quarter. A `PeerSet` never contains
the municipality in focus itself; benchmarks add it where they rank.

Structural variables (`structure`), per municipality and quarter:
- `befolkning` (newest population in the reference data), used as log(population);
- `taethed` = population / area_km2, used as log. The bundled reference data has the area of only
  28 of the 98 municipalities (the larger ones). Imputing the other 70 would invent data, and the
  building m² per inhabitant is not a density but one of the key figures we compare (using it to
  pick peers would make peers alike in the very thing compared). So density enters the distance
  only when every member in the comparison has a known area; otherwise it is left out and the
  result says so (`attrs["note"]`). The kommunegruppe, which Danmarks Statistik defines from
  urbanisation, then carries the urban–rural dimension.
- `kommunegruppe` as an ordinal 1–5 (capital → rural);
- `arealmix`: the share of building m² in each of the nine categories (the weight is shared evenly
  by the nine shares, so the mix counts as one variable).
Each variable is standardised over the members (mean 0, standard deviation 1); the distance is
sqrt(Σ weight × z²). Weights are a dict {variable: weight ≥ 0}; missing keys take the default 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from noegletal import model

VARIABLES: tuple[str, ...] = ("befolkning", "taethed", "kommunegruppe", "arealmix")
# How a round chooses the peer set a report compares with (round setting `peer_metode`).
PEER_METHODS: tuple[str, ...] = ("naermeste", "kommunegruppe", "alle", "klynge")
DEFAULT_WEIGHTS: dict[str, float] = {v: 1.0 for v in VARIABLES}
SHARE_COLUMNS: tuple[str, ...] = tuple(f"andel_{c}" for c in model.CATEGORIES)


class PeerError(ValueError):
    """A peer question that cannot be answered (unknown municipality, no data); Danish message."""


@dataclass(frozen=True)
class PeerSet:
    """A named set of peer municipalities (without the municipality in focus)."""

    id: str
    navn_da: str
    kommunekoder: tuple[int, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.kommunekoder)


def members(store, periode: str) -> list[int]:
    """Municipalities with building facts in the quarter."""
    _require_facts(store)
    model.parse_period(periode)
    codes = store.query(
        "SELECT DISTINCT kommunekode FROM bygningsfakta WHERE periode = ? AND vindue = 'kvartal' ORDER BY 1", [periode]
    )["kommunekode"]
    return [int(k) for k in codes]


def structure(store, periode: str) -> pd.DataFrame:
    """Structural variables of every member in the quarter, indexed by kommunekode (see module docstring)."""
    _require_facts(store)
    year = model.parse_period(periode)[0]
    shares = ", ".join(
        f"sum(bruttoareal_m2) FILTER (WHERE kategori = '{c}') / sum(bruttoareal_m2) AS andel_{c}" for c in model.CATEGORIES
    )
    agg = store.query(
        f"""
        SELECT kommunekode,
               count(*) AS antal_bygninger,
               sum(bruttoareal_m2) AS bruttoareal_m2,
               sum(bruttoareal_m2) / count(*) AS gns_bygningsstoerrelse_m2,
               sum(({year} - opfoerelsesaar) * bruttoareal_m2) FILTER (WHERE opfoerelsesaar IS NOT NULL)
                 / sum(bruttoareal_m2) FILTER (WHERE opfoerelsesaar IS NOT NULL) AS gns_bygningsalder,
               {shares}
        FROM bygningsfakta
        WHERE periode = ? AND vindue = 'kvartal' AND bruttoareal_m2 > 0
        GROUP BY kommunekode
        """,
        [periode],
    )
    if agg.empty:
        raise PeerError(f"Der er ingen bygningsdata for {periode}.")
    kom = store.municipalities().set_index("kommunekode")
    out = kom.loc[agg["kommunekode"], ["navn", "kommunegruppe_kode", "kommunegruppe", "befolkning", "areal_km2"]]
    out = out.join(agg.set_index("kommunekode"))
    out[list(SHARE_COLUMNS)] = out[list(SHARE_COLUMNS)].fillna(0.0)
    out["taethed"] = out["befolkning"] / out["areal_km2"]
    out["m2_pr_indbygger"] = out["bruttoareal_m2"] / out["befolkning"]
    out.index = out.index.astype(int)
    return out.sort_index()


def design(struct: pd.DataFrame, weights: dict[str, float] | None = None) -> pd.DataFrame:
    """The weighted, standardised variables: Euclidean distance on these columns is the peer distance.

    `attrs["variabler"]` lists the variables used and `attrs["note"]` says what was left out and why.
    """
    w = _weights(weights)
    cols: dict[str, pd.Series] = {}
    notes = []
    used = []
    if w["befolkning"] > 0:
        cols["befolkning"] = _z(np.log(struct["befolkning"].astype(float))) * np.sqrt(w["befolkning"])
        used.append("befolkning")
    if w["taethed"] > 0:
        known = struct["areal_km2"].notna()
        if known.all():
            cols["taethed"] = _z(np.log(struct["taethed"].astype(float))) * np.sqrt(w["taethed"])
            used.append("taethed")
        else:
            notes.append(
                f"Befolkningstæthed er udeladt: arealet (km²) kendes kun for {int(known.sum())} af de "
                f"{len(struct)} kommuner i sammenligningen. Kommunegruppen bærer forskellen mellem by og land."
            )
    if w["kommunegruppe"] > 0:
        cols["kommunegruppe"] = _z(struct["kommunegruppe_kode"].astype(float)) * np.sqrt(w["kommunegruppe"])
        used.append("kommunegruppe")
    if w["arealmix"] > 0:
        for c in SHARE_COLUMNS:
            cols[c] = _z(struct[c].astype(float)) * np.sqrt(w["arealmix"] / len(SHARE_COLUMNS))
        used.append("arealmix")
    if not used:
        raise PeerError("Mindst én strukturvariabel skal have en vægt større end 0.")
    out = pd.DataFrame(cols, index=struct.index)
    out.attrs["variabler"] = used
    out.attrs["note"] = " ".join(notes) or None
    return out


def distances_from(struct: pd.DataFrame, kommunekode: int, weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Distance from one municipality to every other member, nearest first (columns kommunekode, navn, afstand)."""
    kommunekode = int(kommunekode)
    if kommunekode not in struct.index:
        raise PeerError(f"Kommune {kommunekode} har ingen bygningsdata i kvartalet og kan ikke sammenlignes.")
    x = design(struct, weights)
    d = np.sqrt(((x - x.loc[kommunekode]) ** 2).sum(axis=1))
    out = pd.DataFrame({"kommunekode": x.index, "navn": struct["navn"].to_numpy(), "afstand": d.to_numpy()})
    out = out[out["kommunekode"] != kommunekode].sort_values(["afstand", "kommunekode"], kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update(x.attrs)
    return out


def distances(store, kommunekode: int, periode: str, weights: dict[str, float] | None = None) -> pd.DataFrame:
    """`distances_from` on the structure of the quarter's members."""
    return distances_from(structure(store, periode), kommunekode, weights)


def nearest(store, kommunekode: int, periode: str, n: int = 5, weights: dict[str, float] | None = None) -> list[int]:
    """The n most similar members (nearest first); the distances are in `distances(...)`."""
    if int(n) < 1:
        raise PeerError(f"Antal mest lignende kommuner skal være mindst 1, ikke {n}.")
    return [int(k) for k in distances(store, kommunekode, periode, weights)["kommunekode"].head(int(n))]


def kommunegruppe_members(store, kommunekode: int, periode: str | None = None) -> list[int]:
    """Members in the same Danmarks Statistik kommunegruppe (the municipality itself included).

    Members are municipalities with building facts in `periode`, or in any quarter when it is None.
    """
    kom = store.municipalities().set_index("kommunekode")
    if int(kommunekode) not in kom.index:
        raise PeerError(f"{kommunekode} er ikke en kommunekode.")
    group = kom.loc[int(kommunekode), "kommunegruppe_kode"]
    if periode is None:
        _require_facts(store)
        have = set(store.query("SELECT DISTINCT kommunekode FROM bygningsfakta")["kommunekode"].astype(int))
    else:
        have = set(members(store, periode))
    same = kom.index[kom["kommunegruppe_kode"] == group]
    return sorted(int(k) for k in same if int(k) in have)


def clusters_from(struct: pd.DataFrame, k: int, seed: int = 0, weights: dict[str, float] | None = None) -> pd.Series:
    """k-means clusters (numbered 1..k in the order of their smallest kommunekode), indexed by kommunekode."""
    from sklearn.cluster import KMeans

    if not 2 <= int(k) <= len(struct):
        raise PeerError(f"Antal klynger skal være mellem 2 og {len(struct)} (antal kommuner med data), ikke {k}.")
    x = design(struct, weights)
    labels = KMeans(n_clusters=int(k), random_state=int(seed), n_init=10).fit_predict(x.to_numpy())
    first = pd.Series(x.index, index=x.index).groupby(labels).min().sort_values()
    renumber = {label: i + 1 for i, label in enumerate(first.index)}
    out = pd.Series([renumber[lab] for lab in labels], index=x.index, name="klynge")
    out.attrs.update(x.attrs)
    return out


def clusters(store, periode: str, k: int = 4, seed: int = 0, weights: dict[str, float] | None = None) -> pd.Series:
    """`clusters_from` on the structure of the quarter's members."""
    return clusters_from(structure(store, periode), k, seed, weights)


def peer_sets(
    store,
    kommunekode: int,
    periode: str,
    n: int = 5,
    weights: dict[str, float] | None = None,
    k: int | None = None,
    seed: int = 0,
) -> list[PeerSet]:
    """The municipality's peer sets: its kommunegruppe, the n most similar, all members, and (k given) its cluster."""
    kommunekode = int(kommunekode)
    struct = structure(store, periode)
    if kommunekode not in struct.index:
        raise PeerError(f"Kommune {kommunekode} har ingen bygningsdata i {periode} og kan ikke sammenlignes.")
    others = [int(c) for c in struct.index if c != kommunekode]
    row = struct.loc[kommunekode]
    group = int(row["kommunegruppe_kode"])
    same_group = [int(c) for c in struct.index[struct["kommunegruppe_kode"] == group] if c != kommunekode]
    near = distances_from(struct, kommunekode, weights)["kommunekode"].head(int(n))
    sets = [
        PeerSet(f"kommunegruppe_{group}", f"{row['kommunegruppe']} (Danmarks Statistiks kommunegruppe {group})",
                tuple(same_group)),
        PeerSet(f"naermeste_{int(n)}", f"De {int(n)} mest lignende kommuner", tuple(int(c) for c in near)),
        PeerSet("alle", "Alle medlemskommuner", tuple(others)),
    ]
    if k is not None:
        labels = clusters_from(struct, k, seed, weights)
        mine = labels[kommunekode]
        sets.append(PeerSet(f"klynge_{int(k)}_{mine}", f"Klynge {mine} af {int(k)} (k-means)",
                            tuple(int(c) for c in labels.index[labels == mine] if c != kommunekode)))
    return sets


def _weights(weights: dict[str, float] | None) -> dict[str, float]:
    w = dict(DEFAULT_WEIGHTS)
    for key, value in (weights or {}).items():
        if key not in VARIABLES:
            raise PeerError(f"Ukendt strukturvariabel '{key}'. Kendte: {', '.join(VARIABLES)}.")
        if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise PeerError(f"Vægten for '{key}' skal være et tal ≥ 0, ikke {value!r}.")
        w[key] = float(value)
    return w


def _z(x: pd.Series) -> pd.Series:
    """Standardise over the members; a variable that does not vary contributes nothing."""
    sd = x.std(ddof=0)
    return (x - x.mean()) / sd if sd > 0 else x * 0.0


def _require_facts(store) -> None:
    if not store.has_table("bygningsfakta"):
        raise PeerError("Der er ingen nøgletal i databasen. Kør først 'noegletal compute'.")
