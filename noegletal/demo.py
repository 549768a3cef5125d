"""Synthetic but realistic demo data: submissions, degree days and planted data errors.

Pure functions, no database code. `generate()` returns one `Submission` (bygninger + kvartal) per
municipality and quarter, the synthetic monthly degree days the demo quarters need beyond the bundled
national series, and the list of data errors planted on purpose so the data-quality checks have
something to find.

How the data is made (levels are documented assumptions anchored on
`noegletal/reference/kalibrering_noegletal.csv`):

* Municipalities: all 98, or a stratified pick over Danmarks Statistik's five kommunegrupper that
  always contains the largest cities (n // 10 of them, so 101 København, 751 Aarhus and 851 Aalborg
  for n = 30).
* Building stock: ≈ 5 m² per inhabitant (a municipality-specific level between 4 and 6.5, higher in
  rural groups), split over the nine categories by a realistic area mix, into properties (ejendomme)
  of category-typical size, and properties into buildings (a school is several buildings). The
  master table is built once with numpy; the same buildings are reported every quarter except for a
  handful of new and sold buildings.
* Quarterly values: heat follows the quarter's degree days with the category's weather-independent
  share w, electricity and water have mild seasonality, costs are per m² levels with
  municipality-specific factors (so municipalities really differ) plus energy bills priced from the
  consumption. Everything is generated per quarter for all buildings at once and then split per
  municipality.
* Randomness: one `numpy.random.SeedSequence(seed)` spawns independent generators for each stage;
  no global state, so the same seed gives identical frames.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from noegletal import formatting, model, reference

__all__ = [
    "Submission",
    "PlantedError",
    "DemoData",
    "generate",
    "malformed_example",
    "PLANTED_KINDS",
    "NOT_IN_SUBMISSIONS",
]


@dataclass
class Submission:
    kommunekode: int
    periode: str  # "2026Q2"
    bygninger: pd.DataFrame  # columns model.column_ids("bygninger"), model dtypes
    kvartal: pd.DataFrame  # columns model.column_ids("kvartal"), model dtypes


@dataclass
class PlantedError:
    kind: str  # one of PLANTED_KINDS
    kommunekode: int
    bygning_id: str
    periode: str
    column: str  # the submission column affected
    description: str  # Danish, one line


@dataclass
class DemoData:
    submissions: list[Submission]  # one per municipality x quarter, sorted by (periode, kommunekode)
    degree_days: pd.DataFrame  # aar, maaned, graddage: synthetic months not in the national series
    planted: list[PlantedError]


# The planted error kinds, in the order they are planted.
PLANTED_KINDS: tuple[str, ...] = (
    "kwh_som_mwh",  # varme_kwh reported in MWh (÷1000) in one quarter
    "tomt_over_brutto",  # vacant area > gross area: only in malformed_example(), see below
    "manglende_kvartal",  # building in bygninger, but no kvartal row in one middle quarter
    "ekstrem_udgift",  # rengoering_kr ×20 in one quarter
    "kategori_skift",  # anvendelseskode 441 (daycare) → 321 (office) from one quarter on
    "kvartalsspring",  # el_kwh ×4 in one quarter
    "implausibelt_nul",  # el_kwh = 0 for a large school building in one quarter
)

# Ingest rejects vacant > gross area, so a valid submission cannot carry it. That planted error is
# listed in DemoData.planted (pointing at a real building and quarter of the demo) but its data
# lives only in malformed_example(); consumers looking for findings in the demo store skip it.
NOT_IN_SUBMISSIONS: frozenset[str] = frozenset({"tomt_over_brutto"})


# --------------------------------------------------------------------------------------------------
# Category profiles
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Profile:
    share: float  # share of a municipality's building area
    prop_m2: float  # median property (ejendom) size, m²
    prop_sigma: float  # lognormal spread of property size
    prop_range: tuple[float, float]  # clip of the drawn property size, m²
    n_buildings: tuple[int, int]  # buildings per property (inclusive range)
    codes: tuple[tuple[int, float], ...]  # BBR use codes and their weights
    heat: float  # measured heat in a normal year, kWh/m²/yr
    w_pct: float  # weather-independent share of heat, % (the definitions sheet's default)
    el: float  # kWh/m²/yr
    water: float  # m³/m²/yr
    m2_per_user: float  # m² per pupil / child / resident / staff
    cleaning: float  # kr./m²/yr
    p_rented: float  # share of properties that are rented
    p_no_users: float  # share of buildings that leave brugere empty


# Area mix: schools ≈ 37 %, daycare 12 %, care homes 15 %, administration 8 %, the rest 28 %.
# Property sizes are chosen so that the national stock (≈ 30 mio. m²) is ≈ 50,000 buildings.
# Heat/el/water levels: Albertslund green accounts, district-heating customer averages and KL's
# national totals (kalibrering_noegletal.csv); m² per user: Norwegian KOSTRA 17.7 m²/pupil and
# 8.8 m²/child. The total operating cost lands near 400 kr./m²/yr: KL's 306 kr./m² (9.5 bn / 31 mio.
# m²) leaves out energy, and heat and electricity bills alone are ≈150 kr./m², so cleaning is set
# to ≈100 kr./m² (a quarter of the total) rather than 45 % of 300.
PROFILES: dict[str, _Profile] = {
    "skole": _Profile(0.375, 5500, 0.40, (2500, 14000), (3, 9),
                      ((421, 0.85), (420, 0.10), (429, 0.05)),
                      120, 15, 28, 0.30, 17.7, 95, 0.02, 0.02),
    "dagtilbud": _Profile(0.12, 480, 0.40, (200, 1500), (1, 2),
                          ((441, 0.85), (440, 0.15)),
                          150, 20, 46, 0.67, 8.8, 130, 0.06, 0.03),
    "plejecenter": _Profile(0.15, 4000, 0.40, (1500, 9000), (2, 5),
                            ((160, 0.55), (442, 0.25), (430, 0.10), (432, 0.10)),
                            135, 30, 42, 0.45, 60, 115, 0.05, 0.03),
    "administration": _Profile(0.08, 2000, 0.80, (300, 16000), (1, 3),
                               ((321, 0.80), (320, 0.20)),
                               90, 10, 38, 0.20, 25, 90, 0.10, 0.10),
    "kultur": _Profile(0.06, 350, 0.80, (60, 5000), (1, 2),
                       ((411, 0.20), (412, 0.20), (415, 0.35), (419, 0.25)),
                       110, 10, 70, 0.25, 25, 60, 0.06, 0.20),
    "bibliotek": _Profile(0.035, 700, 0.70, (120, 6000), (1, 1),
                          ((413, 1.0),),
                          110, 10, 55, 0.15, 25, 80, 0.05, 0.10),
    "idraet": _Profile(0.085, 900, 0.60, (100, 6000), (1, 2),
                       ((533, 0.45), (532, 0.15), (531, 0.30), (539, 0.10)),
                       200, 35, 45, 0.70, 25, 55, 0.03, 0.20),
    "sundhed": _Profile(0.03, 450, 0.60, (100, 3000), (1, 1),
                        ((433, 0.70), (439, 0.30)),
                        110, 20, 42, 0.35, 25, 105, 0.12, 0.10),
    "oevrige": _Profile(0.065, 150, 0.90, (20, 3000), (1, 1),
                        ((449, 0.50), (490, 0.30), (329, 0.20)),
                        110, 15, 25, 0.25, 25, 38, 0.10, 0.40),
}
CATS: tuple[str, ...] = model.CATEGORIES
assert set(PROFILES) == set(CATS)
_P = [PROFILES[c] for c in CATS]


def _cat_array(attr: str) -> np.ndarray:
    return np.array([getattr(p, attr) for p in _P], dtype=float)


# Municipal m² per inhabitant by kommunegruppe (1 Hovedstad … 5 Land): denser cities have less.
GROUP_M2_PER_INHABITANT = {1: 4.6, 2: 5.0, 3: 5.3, 4: 5.6, 5: 5.9}
# Yearly change in pupil numbers by kommunegruppe (falling in rural municipalities).
GROUP_PUPIL_TREND = {1: 0.005, 2: 0.003, 3: -0.003, 4: -0.008, 5: -0.012}

# Cost levels, kr./m²/yr before municipality factors (the brief's calibration).
PLANNED_MAINTENANCE = 52.0  # × lognormal spread and municipality factor ≈ 55-60 on average
ACUTE_MAINTENANCE = 21.0  # × (0.5 + 0.25·condition) ≈ 25 on average
TECHNICAL_OPERATION = 30.0
PROPERTY_ADMINISTRATION = 15.0
# Energy prices (kr. per kWh / m³, excl. VAT which municipalities recover); each municipality gets
# its own level (district-heating prices differ a lot), and 2022-23 had the energy crisis.
HEAT_PRICE = (0.45, 0.75)
EL_PRICE = (1.20, 1.60)
WATER_PRICE = (35.0, 55.0)
HEAT_PRICE_YEAR = {2022: 1.20, 2023: 1.15}
EL_PRICE_YEAR = {2021: 1.10, 2022: 1.60, 2023: 1.20}
COST_INFLATION = 0.02  # per year, on cleaning, maintenance, operation, administration, rent
HEAT_TREND = 0.01  # heat intensity falls 1 %/yr (renovation), electricity 1.5 %/yr (LED)
EL_TREND = 0.015

# Seasonality by quarter (mean ≈ 1): schools are closed in July; daycare loses children to school
# in August; planned maintenance is done in summer and when budgets close in the autumn.
EL_SEASON_SCHOOL = np.array([1.10, 0.98, 0.78, 1.14])
EL_SEASON_OTHER = np.array([1.07, 0.96, 0.90, 1.07])
WATER_SEASON_SCHOOL = np.array([1.05, 1.00, 0.85, 1.10])
DAYCARE_SEASON = np.array([1.00, 1.04, 0.93, 0.98])
PLANNED_SEASON = np.array([0.70, 0.80, 1.30, 1.20])
NORMAL_YEAR_GD = 3112.0

# Category → stems for building names. Each municipality shuffles its pools; stems run out only in
# the largest municipalities, which then reuse them with a number ("Nørreskolen 2").
_DISTRICTS = [
    "Nord", "Syd", "Øst", "Vest", "Midt", "Centrum", "Havnen", "Bakken", "Skovbrynet", "Engen",
    "Stationsbyen", "Kirkebyen", "Strandvejen", "Møllevang", "Toftegård", "Højvang", "Kærby",
    "Lundegård", "Fjordparken", "Solbjerg", "Vesterbro", "Østerled", "Nørremark", "Sønderled",
]
_SCHOOL_PREFIXES = [
    "Nørre", "Sønder", "Vester", "Øster", "Bakke", "Skov", "Strand", "Hede", "Eng", "Mølle",
    "Kirkebakke", "Linde", "Bøge", "Ege", "Birke", "Rosen", "Sol", "Fjord", "Holme", "Vang", "Dal",
    "Toft", "Lunde", "Kilde", "Tårn", "Hav", "Bavne", "Vibe", "Stjerne", "Park", "Lyng", "Ravns",
    "Bakkegård", "Højvang", "Kær", "Åby", "Nærum", "Tinggård", "Byvang", "Søndervang",
]
_CHILD_NAMES = [
    "Solsikken", "Mælkebøtten", "Regnbuen", "Troldehøj", "Spiren", "Myretuen", "Humlebien",
    "Bikuben", "Skovtrolden", "Egernet", "Mariehønen", "Valmuen", "Kastanjen", "Stjernen",
    "Månen", "Krudtuglen", "Snurretoppen", "Kernehuset", "Globen", "Lærkereden", "Svalereden",
    "Pilehuset", "Elverhøj", "Tumlingen", "Pusling", "Æblehaven", "Fuglereden", "Kløverbladet",
    "Hyldebærhuset", "Græshoppen",
]
_CARE_NAMES = [
    "Egebo", "Lindebo", "Birkebo", "Solgården", "Rosenhaven", "Møllehuset", "Engbo",
    "Kastaniegården", "Bøgely", "Havebo", "Fyrrebo", "Åbakken", "Lyngbo", "Strandhaven",
    "Bakkegården", "Kildebo", "Toftegården", "Hvidkløver", "Solbakken", "Skovly",
]
NAME_POOLS: dict[str, list[str]] = {
    "skole": [p + "skolen" for p in _SCHOOL_PREFIXES],
    "dagtilbud": [f"{t} {n}" for t in ("Børnehuset", "Børnehaven", "Vuggestuen", "Dagtilbud",
                                         "Naturbørnehaven", "Den integrerede institution")
                  for n in _CHILD_NAMES],
    "plejecenter": [f"{t} {n}" for t in ("Plejecenter", "Plejehjemmet", "Ældrecentret", "Omsorgscenter")
                    for n in _CARE_NAMES],
    # The first stem goes to the largest property of the category.
    "administration": ["Rådhuset", "Jobcentret", "Borgerservice", "Administrationsbygningen",
                       "Teknik og Miljø", "Socialforvaltningen", "Børne- og Ungeforvaltningen",
                       "Familiehuset", "Ydelsescentret", "Myndighedscentret", "Beskæftigelseshuset",
                       "PPR-huset", "IT-centret", "Økonomiforvaltningen", "Ungdommens Uddannelsesvejledning",
                       "Kommunekontoret"],
    "kultur": ["Kulturhuset", "Musikhuset", "Teatret", "Bymuseet", "Kunstmuseet", "Medborgerhuset",
               "Ungdomshuset", "Fritidscentret", "Musikskolen", "Billedskolen", "Spillestedet Værket",
               "Lokalhistorisk Arkiv"]
    + [f"{t} {d}" for t in ("Forsamlingshuset", "Medborgerhuset", "Fritidsklubben") for d in _DISTRICTS],
    "bibliotek": ["Hovedbiblioteket"] + [f"Bibliotek {d}" for d in _DISTRICTS],
    "idraet": ["Svømmehallen", "Idrætscentret", "Stadionbygningen"]
    + [f"Idrætshal {d}" for d in _DISTRICTS] + [f"Klubhuset {d}" for d in _DISTRICTS],
    "sundhed": ["Sundhedscentret", "Genoptræningscentret", "Sundhedshuset"]
    + [f"Tandplejen {d}" for d in _DISTRICTS] + [f"Sundhedsplejen {d}" for d in _DISTRICTS],
    "oevrige": ["Materielgården", "Naturcentret", "Vej og Park-depotet"]
    + [f"{t} {d}" for t in ("Depot", "Værestedet", "Bofællesskabet", "Værkstedet", "Spejderhytten")
       for d in _DISTRICTS],
}
_FIXED_FIRST = {"administration", "bibliotek"}


# --------------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------------


def generate(
    n_municipalities: int = 30,
    n_quarters: int = 8,
    seed: int = 42,
    last_period: str = "2026Q2",
) -> DemoData:
    """Synthetic submissions for `n_municipalities` × `n_quarters` ending with `last_period`.

    Deterministic for a given seed. At national scale (98 × 40) ≈ 50,000 buildings and ≈ 2 million
    building-quarter rows.
    """
    n_all = len(reference.municipality_codes())
    if not 1 <= int(n_municipalities) <= n_all:
        raise ValueError(f"n_municipalities skal være mellem 1 og {n_all}, ikke {n_municipalities}")
    if int(n_quarters) < 1:
        raise ValueError(f"n_quarters skal være mindst 1, ikke {n_quarters}")
    model.parse_period(last_period)
    nq = int(n_quarters)
    periods = [model.shift_period(last_period, t - (nq - 1)) for t in range(nq)]

    ss_mun, ss_bld, ss_plant, ss_val = np.random.SeedSequence(int(seed)).spawn(4)
    mun = _choose_municipalities(int(n_municipalities), np.random.default_rng(ss_mun))
    b = _building_master(mun, periods, np.random.default_rng(ss_bld))
    plan = _plant_and_events(b, mun, periods, np.random.default_rng(ss_plant))
    b = _assign_ids(b, mun, plan)

    gd_synth = _synthetic_degree_days(periods, int(seed))
    gd_month = {(int(r.aar), int(r.maaned)): float(r.graddage) for r in reference.degree_days_national().itertuples()}
    gd_month.update({(int(r.aar), int(r.maaned)): float(r.graddage) for r in gd_synth.itertuples()})

    submissions, applied = _submissions(b, mun, periods, plan, gd_month, np.random.default_rng(ss_val))
    planted = _describe_planted(b, periods, plan, applied)
    return DemoData(submissions=submissions, degree_days=gd_synth, planted=planted)


def malformed_example(
    n_municipalities: int = 30,
    n_quarters: int = 8,
    seed: int = 42,
    last_period: str = "2026Q2",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small (bygninger, kvartal) pair for one municipality and quarter with vacant > gross area.

    It is the submission named by the `tomt_over_brutto` entry of `generate(...)` with the same
    arguments, cut to eight buildings (the affected one and seven others, in id order), where the
    affected building's tomt_areal_m2 is 125 % of its bruttoareal_m2. Each table on its own follows the
    model's dtypes and column rules; the cross-table rule "tomt_areal_m2 ≤ bruttoareal_m2" is what
    ingest must reject.
    """
    data = generate(n_municipalities, n_quarters, seed, last_period)
    err = next(p for p in data.planted if p.kind == "tomt_over_brutto")
    sub = next(s for s in data.submissions if s.kommunekode == err.kommunekode and s.periode == err.periode)
    ids = sub.kvartal["bygning_id"].astype(str)
    others = [i for i in ids if i != err.bygning_id][:7]
    keep = sorted([err.bygning_id, *others])
    byg = sub.bygninger[sub.bygninger["bygning_id"].isin(keep)].reset_index(drop=True)
    kv = sub.kvartal[sub.kvartal["bygning_id"].isin(keep)].reset_index(drop=True).copy()
    gross = float(byg.loc[byg["bygning_id"] == err.bygning_id, "bruttoareal_m2"].iloc[0])
    kv.loc[kv["bygning_id"] == err.bygning_id, "tomt_areal_m2"] = float(np.rint(gross * 1.25))
    return model.coerce_dtypes(byg, "bygninger"), model.coerce_dtypes(kv, "kvartal")


# --------------------------------------------------------------------------------------------------
# Municipalities
# --------------------------------------------------------------------------------------------------


def _choose_municipalities(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """All municipalities, or a pick stratified over the five kommunegrupper.

    The n // 10 most populous are always in (for n = 30: København, Aarhus, Aalborg); the other
    places are shared between the groups in proportion to their size (largest remainder, at least
    one per group when n ≥ 5) and drawn at random within each group.
    """
    mun = reference.municipalities().sort_values("kommunekode").reset_index(drop=True)
    if n < len(mun):
        anchors = set(mun.nlargest(max(1, n // 10), "befolkning")["kommunekode"].astype(int))
        groups = sorted(mun["kommunegruppe_kode"].unique())
        size = np.array([(mun["kommunegruppe_kode"] == g).sum() for g in groups], dtype=float)
        exact = n * size / size.sum()
        quota = np.floor(exact).astype(int)
        for i in np.argsort(-(exact - quota), kind="stable")[: n - quota.sum()]:
            quota[i] += 1
        in_group = [mun.loc[mun["kommunegruppe_kode"] == g, "kommunekode"].astype(int).tolist() for g in groups]
        n_anchor = np.array([len(anchors.intersection(codes)) for codes in in_group])
        floor = np.maximum(n_anchor, 1 if n >= len(groups) else 0)
        quota = np.maximum(quota, floor)
        while quota.sum() > n:  # give back places where there is most slack
            slack = np.where(quota > floor, quota, -1)
            quota[int(np.argmax(slack))] -= 1
        chosen = set(anchors)
        for codes, q, a in zip(in_group, quota, n_anchor):
            rest = [c for c in codes if c not in anchors]
            chosen.update(int(c) for c in rng.choice(rest, size=int(q - a), replace=False))
        mun = mun[mun["kommunekode"].isin(chosen)].reset_index(drop=True)
    mun = mun.copy()
    mun["befolkning"] = mun["befolkning"].astype(float)
    return mun


# --------------------------------------------------------------------------------------------------
# Building master table
# --------------------------------------------------------------------------------------------------


def _building_master(mun: pd.DataFrame, periods: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One row per building (all numpy arrays of equal length); values that stay put over time."""
    M, C, nq = len(mun), len(CATS), len(periods)
    group = mun["kommunegruppe_kode"].to_numpy(int)
    pop = mun["befolkning"].to_numpy(float)
    names = mun["navn"].astype(str).tolist()
    last_year = model.parse_period(periods[-1])[0]

    # Municipality-specific levels: area per inhabitant and factors that make comparisons differ.
    level = np.clip(np.array([GROUP_M2_PER_INHABITANT[g] for g in group]) + rng.normal(0, 0.35, M), 4.0, 6.5)
    share = _cat_array("share")[None, :] * rng.lognormal(0, 0.15, (M, C))
    share /= share.sum(axis=1, keepdims=True)
    target = (pop * level)[:, None] * share  # m² per municipality and category
    m_fac = {
        "heat": rng.lognormal(0, 0.08, M),
        "climate": rng.normal(1.0, 0.03, M),  # local climate vs the national degree days
        "clean": rng.uniform(0.80, 1.25, M),
        "maint": rng.uniform(0.80, 1.25, M),
        "drift": rng.uniform(0.85, 1.15, M),
        "admin": rng.uniform(0.70, 1.30, M),
        "p_heat": rng.uniform(*HEAT_PRICE, M),
        "p_el": rng.uniform(*EL_PRICE, M),
        "p_water": rng.uniform(*WATER_PRICE, M),
        "pupil_trend": np.array([GROUP_PUPIL_TREND[g] for g in group]) + rng.normal(0, 0.003, M),
        "reports_indeklima": rng.random(M) > 0.15,
        "reports_tilstand": rng.random(M) > 0.05,
    }

    # Properties: enough per municipality and category to fill the target area.
    prop_m2, sigma = _cat_array("prop_m2"), _cat_array("prop_sigma")
    mean_prop = prop_m2 * np.exp(sigma**2 / 2)
    n_prop = np.maximum(1, np.rint(target / mean_prop[None, :])).astype(int).ravel()  # (M*C,)
    p_grp = np.repeat(np.arange(M * C), n_prop)
    p_mun, p_cat = p_grp // C, p_grp % C
    P = len(p_grp)
    lo = np.array([p.prop_range[0] for p in _P])
    hi = np.array([p.prop_range[1] for p in _P])
    size = np.clip(prop_m2[p_cat] * np.exp(sigma[p_cat] * rng.standard_normal(P)), lo[p_cat], hi[p_cat])
    size *= (target.ravel() / np.bincount(p_grp, size, M * C))[p_grp]  # hit the target exactly
    nb_lo = np.array([p.n_buildings[0] for p in _P])
    nb_hi = np.array([p.n_buildings[1] for p in _P])
    n_b = rng.integers(nb_lo[p_cat], nb_hi[p_cat] + 1)
    n_b = np.minimum(n_b, np.maximum(1, size // 150)).astype(int)  # no slivers of tiny properties
    rented_p = rng.random(P) < _cat_array("p_rented")[p_cat]
    # Construction year: most municipal buildings are from 1960-1980.
    u = rng.random(P)
    year_p = np.where(
        u < 0.15, rng.uniform(1850, 1940, P),
        np.where(u < 0.25, rng.uniform(1940, 1958, P),
                 np.where(u < 0.80, np.clip(rng.normal(1970, 7, P), 1958, 1990), rng.uniform(1990, 2022, P))),
    )
    m2pu_p = _cat_array("m2_per_user")[p_cat] * rng.lognormal(0, 0.18, P)
    stem_p = _property_stems(p_grp, p_cat, size, M, rng)

    # Buildings: split each property; the main building (no. 1) is the largest on average.
    b_prop = np.repeat(np.arange(P), n_b)
    B = len(b_prop)
    b_no = np.arange(B) - np.repeat(np.cumsum(n_b) - n_b, n_b) + 1
    wt = rng.uniform(0.5, 1.5, B) * np.where(b_no == 1, 2.0, 1.0)
    area = np.maximum(15.0, np.rint(size[b_prop] * wt / np.bincount(b_prop, wt, P)[b_prop]))
    mi, cat = p_mun[b_prop], p_cat[b_prop]
    extension = np.where(rng.random(B) < 0.5, rng.uniform(0, 50, B), 0.0) * (b_no > 1)
    year = np.minimum(np.rint(year_p[b_prop] + extension), 2022).astype(int)
    year_missing = rng.random(B) < 0.02

    # BBR code by category weights. `kategori` is filled in later only where the code's category
    # (from the bundled code list) differs from the intended one, e.g. a depot registered as
    # 329 "Anden bygning til kontor, handel og lager" that the municipality counts as oevrige.
    code = np.zeros(B, dtype=int)
    for c, p in enumerate(_P):
        idx = np.flatnonzero(cat == c)
        codes = np.array([k for k, _ in p.codes])
        w = np.array([x for _, x in p.codes])
        code[idx] = rng.choice(codes, size=len(idx), p=w / w.sum())

    # Condition 1 (good) … 5 (poor), worse with age; indoor climate follows condition.
    age = np.maximum(0, last_year - year)
    tg_raw = np.clip(1.2 + 2.6 * (1 - np.exp(-age / 45)) + rng.normal(0, 0.55, B), 1, 5)
    tg = np.clip(np.rint(tg_raw), 1, 5)
    ik = np.clip(np.rint(0.6 * tg_raw + 0.8 + rng.normal(0, 0.7, B)), 1, 5)
    tg_missing = ~m_fac["reports_tilstand"][mi] | (rng.random(B) < 0.05)
    ik_missing = ~m_fac["reports_indeklima"][mi] | (rng.random(B) < 0.18)
    # Maintenance backlog kr./m² by condition grade (stock; grows slowly over time).
    bl_lo = np.array([0, 0, 80, 250, 550, 900])
    bl_hi = np.array([0, 60, 250, 600, 1100, 1500])
    tgi = tg.astype(int)
    backlog = rng.uniform(bl_lo[tgi], bl_hi[tgi])
    backlog_missing = tg_missing | (rng.random(B) < 0.08)

    # Intensities (per m² per year). Older buildings use more heat.
    age_f = np.clip(1 + 0.005 * (1985 - year), 0.85, 1.35)
    heat_i = _cat_array("heat")[cat] * age_f * rng.lognormal(0, 0.20, B) * m_fac["heat"][mi]
    w_override = np.where(rng.random(B) < 0.03, np.rint(rng.uniform(5, 50, B)), np.nan)
    rented = rented_p[b_prop]

    # Vacancy: most report 0, many leave it empty, ≈5 % have 5-30 % empty from some quarter on.
    u = rng.random(B)
    vac_kind = np.where(u < 0.60, 0, np.where(u < 0.95, 1, 2))  # 0: zero, 1: empty, 2: vacant
    return {
        "mi": mi, "cat": cat, "prop": b_prop, "b_no": b_no, "n_b": n_b[b_prop], "area": area,
        "year": year, "year_missing": year_missing, "code": code, "rented": rented,
        "stem": stem_p[b_prop], "w_override": w_override,
        "w_eff": np.where(np.isnan(w_override), _cat_array("w_pct")[cat], w_override),
        "heat_i": heat_i,
        "el_i": _cat_array("el")[cat] * rng.lognormal(0, 0.25, B),
        "water_i": _cat_array("water")[cat] * rng.lognormal(0, 0.30, B),
        "water_missing": rng.random(B) < 0.05,
        "m2pu": m2pu_p[b_prop],
        "users_missing": rng.random(B) < _cat_array("p_no_users")[cat],
        "clean_rate": _cat_array("cleaning")[cat] * rng.lognormal(0, 0.15, B) * m_fac["clean"][mi],
        "plan_rate": PLANNED_MAINTENANCE * m_fac["maint"][mi] * np.where(rented, 0.3, 1.0) * rng.lognormal(0, 0.3, B),
        "akut_rate": ACUTE_MAINTENANCE * m_fac["maint"][mi] * (0.5 + 0.25 * tg_raw) * np.where(rented, 0.6, 1.0),
        "drift_rate": TECHNICAL_OPERATION * m_fac["drift"][mi] * rng.lognormal(0, 0.2, B),
        "admin_rate": PROPERTY_ADMINISTRATION * m_fac["admin"][mi] * np.ones(B),
        "rent_rate": np.where(rented, rng.uniform(500, 900, B), np.nan),
        "tg": np.where(tg_missing, np.nan, tg), "ik": np.where(ik_missing, np.nan, ik),
        "backlog": np.where(backlog_missing, np.nan, backlog),
        "vac_kind": vac_kind, "vac_share": rng.uniform(0.05, 0.30, B), "vac_start": rng.integers(0, nq, B),
        "start_q": np.zeros(B, dtype=int), "end_q": np.full(B, nq - 1),
        "sort_key": rng.random(P)[b_prop],  # shuffles properties within a municipality for the ids
        "mun_names": np.array(names, dtype=object)[mi],
        **{f"m_{k}": v[mi] for k, v in m_fac.items()},
    }


def _property_stems(p_grp, p_cat, size, M, rng) -> np.ndarray:
    """A name stem per property, unique within municipality (pools differ by category)."""
    C = len(CATS)
    stems = np.empty(len(p_grp), dtype=object)
    order = np.lexsort((-size, p_grp))  # by group, largest property first
    bounds = np.searchsorted(p_grp[order], np.arange(M * C + 1))
    for g in range(M * C):
        idx = order[bounds[g]: bounds[g + 1]]
        if len(idx) == 0:
            continue
        pool = NAME_POOLS[CATS[g % C]]
        L = len(pool)
        perm = ([0] + list(1 + rng.permutation(L - 1))) if CATS[g % C] in _FIXED_FIRST else list(rng.permutation(L))
        for i, p in enumerate(idx):
            k = i // L
            stems[p] = pool[perm[i % L]] + (f" {k + 1}" if k else "")
    return stems


# --------------------------------------------------------------------------------------------------
# Planted errors and stock changes (new and sold buildings)
# --------------------------------------------------------------------------------------------------


def _plant_and_events(b: dict, mun: pd.DataFrame, periods: list[str], rng: np.random.Generator) -> dict:
    """Choose the buildings and quarters of the planted errors, then the new and sold buildings.

    Returns {kind: (building index, quarter index)} plus "_new"/"_sold" index arrays; the
    building indices refer to the master table before `_assign_ids` reorders it (it remaps them).
    """
    nq, M = len(periods), len(mun)
    mi, area, cat = b["mi"], b["area"], b["cat"]
    used: set[int] = set()
    plan: dict = {}
    mun_order = rng.permutation(M)

    def middle() -> int:  # a quarter with neighbours on both sides when there are any
        return int(rng.integers(1, nq - 1)) if nq >= 3 else nq - 1

    def pick(k: int, ok: np.ndarray, largest: bool = False) -> int:
        m = int(mun_order[k % M])
        cand = np.flatnonzero((mi == m) & ok)
        cand = cand[~np.isin(cand, list(used))]
        if len(cand) == 0:  # fall back to any free building of the municipality
            cand = np.flatnonzero(mi == m)
            cand = cand[~np.isin(cand, list(used))]
        i = int(cand[np.argmax(area[cand])]) if largest else int(rng.choice(cand))
        used.add(i)
        return i

    school = cat == CATS.index("skole")
    daycare = cat == CATS.index("dagtilbud")
    plan["kwh_som_mwh"] = (pick(0, area >= 800), middle())
    plan["tomt_over_brutto"] = (pick(1, area >= 200), int(rng.integers(0, nq)))
    if nq >= 3:
        plan["manglende_kvartal"] = (pick(2, area >= 200), int(rng.integers(1, nq - 1)))
    plan["ekstrem_udgift"] = (pick(3, area >= 300), middle())
    if nq >= 2:
        t0 = int(rng.integers(max(1, nq // 4), max(2, (3 * nq) // 4 + 1)))
        plan["kategori_skift"] = (pick(4, daycare & (b["n_b"] == 1) & ~b["rented"]), min(t0, nq - 1))
        plan["kvartalsspring"] = (pick(5, area >= 300), middle())
    plan["implausibelt_nul"] = (pick(6, school, largest=True), middle())

    # The planted daycare building keeps code 441 until it turns into offices.
    if "kategori_skift" in plan:
        b["code"][plan["kategori_skift"][0]] = 441

    # A handful of stock changes: about three new and three sold buildings per 30 municipalities
    # and 8 quarters, only in single-building properties and never on a planted building.
    n_ev = max(1, int(round(M * nq / 80))) if nq >= 2 else 0
    single = (b["n_b"] == 1) & ~np.isin(np.arange(len(area)), list(used))
    new_ok = single & np.isin(cat, [CATS.index(c) for c in ("dagtilbud", "idraet", "kultur", "sundhed", "bibliotek")])
    new = rng.choice(np.flatnonzero(new_ok), size=min(n_ev, int(new_ok.sum())), replace=False) if n_ev else np.array([], int)
    sold_ok = single & (b["year"] < 1975) & ~np.isin(np.arange(len(area)), new) & np.isin(
        cat, [CATS.index(c) for c in ("oevrige", "kultur", "dagtilbud", "administration")])
    sold = rng.choice(np.flatnonzero(sold_ok), size=min(n_ev, int(sold_ok.sum())), replace=False) if n_ev else np.array([], int)
    if len(new):
        start = rng.integers(1, nq, len(new))
        b["start_q"][new] = start
        # A new building: built the year it opens, good condition, efficient.
        opened = np.array([model.parse_period(periods[s])[0] for s in start])
        b["year"][new] = np.minimum(opened, dt.date.today().year)
        b["year_missing"][new] = False
        b["tg"][new] = np.where(np.isnan(b["tg"][new]), np.nan, 1.0)
        b["ik"][new] = np.where(np.isnan(b["ik"][new]), np.nan, 1.0)
        b["backlog"][new] = np.where(np.isnan(b["backlog"][new]), np.nan, 0.0)
        b["heat_i"][new] *= 0.6
        b["akut_rate"][new] *= 0.5
        b["vac_kind"][new] = 0
    if len(sold):
        b["end_q"][sold] = rng.integers(0, nq - 1, len(sold))
    plan["_new"], plan["_sold"] = new, sold
    return plan


def _assign_ids(b: dict, mun: pd.DataFrame, plan: dict) -> dict:
    """Sort buildings by municipality and give them ids; new buildings get the highest numbers.

    bygning_id "B00001" is unique within the municipality, ejendom_id "E0001" groups the buildings
    of one property, navn carries the municipality name so no two municipalities share a name.
    """
    is_new = b["start_q"] > 0
    order = np.lexsort((b["b_no"], b["prop"], b["sort_key"], b["start_q"], is_new, b["mi"]))
    out = {k: v[order] for k, v in b.items()}
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    for k, v in list(plan.items()):
        if k.startswith("_"):
            plan[k] = np.sort(inv[v])
        else:
            plan[k] = (int(inv[v[0]]), v[1])

    mi = out["mi"]
    first_of_mun = np.searchsorted(mi, mi)  # rows are sorted by municipality
    nr = np.arange(len(mi)) - first_of_mun + 1
    out["bygning_id"] = np.array([f"B{n:05d}" for n in nr], dtype=object)
    # Property number: count of property changes within the municipality.
    new_prop = np.r_[True, (out["prop"][1:] != out["prop"][:-1])]
    pcount = np.cumsum(new_prop)
    pnr = pcount - pcount[first_of_mun] + 1
    out["ejendom_id"] = np.array([f"E{n:05d}" for n in pnr], dtype=object)
    out["navn"] = np.array(
        [f"{s} ({k})" if nb == 1 else f"{s} ({k}), bygning {no}"
         for s, k, nb, no in zip(out["stem"], out["mun_names"], out["n_b"], out["b_no"])],
        dtype=object,
    )
    out["kommunekode"] = mun["kommunekode"].to_numpy(int)[mi]
    return out


def _describe_planted(b: dict, periods: list[str], plan: dict, applied: dict) -> list[PlantedError]:
    """One PlantedError per planted kind; `applied` holds (true value, reported value) where relevant."""
    out = []
    for kind in PLANTED_KINDS:
        if kind not in plan:
            continue
        i, t = plan[kind]
        true, bad = applied.get(kind, (np.nan, np.nan))
        area = b["area"][i]
        column, desc = {
            "kwh_som_mwh": ("varme_kwh", f"Varmeforbrug indberettet i MWh i stedet for kWh: {formatting.number(bad, 1)} "
                                         f"i stedet for {formatting.number(true, 0)} kWh (1000 gange for lavt)"),
            "tomt_over_brutto": ("tomt_areal_m2", f"Tomt areal {formatting.number(np.rint(area * 1.25), 0)} m² er større end bruttoarealet "
                                                  f"{formatting.number(area, 0)} m²; afvises ved indlæsning og findes derfor kun i "
                                                  "malformed_example(), ikke i submissions"),
            "manglende_kvartal": ("periode", "Bygningen står i bygninger, men mangler i kvartal for dette kvartal"),
            "ekstrem_udgift": ("rengoering_kr", f"Rengøringsudgift {formatting.number(bad, 0)} kr. i kvartalet, 20 gange det normale "
                                                f"({formatting.number(true, 0)} kr.)"),
            "kategori_skift": ("anvendelseskode", "Anvendelseskoden skifter fra 441 Daginstitution (dagtilbud) til 321 "
                                                  "Bygning til kontor (administration) fra dette kvartal"),
            "kvartalsspring": ("el_kwh", f"Elforbrug {formatting.number(bad, 0)} kWh i kvartalet, 4 gange det normale ({formatting.number(true, 0)} kWh)"),
            "implausibelt_nul": ("el_kwh", f"Elforbrug indberettet som 0 kWh for en stor skolebygning ({formatting.number(area, 0)} m², "
                                           f"normalt ca. {formatting.number(true, 0)} kWh i kvartalet)"),
        }[kind]
        out.append(PlantedError(kind, int(b["kommunekode"][i]), str(b["bygning_id"][i]), periods[t], column, desc))
    return out


# --------------------------------------------------------------------------------------------------
# Degree days
# --------------------------------------------------------------------------------------------------


def _synthetic_degree_days(periods: list[str], seed: int) -> pd.DataFrame:
    """Normal-year month × N(0.92, 0.08) for demo months missing from the national series.

    Each month has its own generator from (seed, year, month), so a month gets the same value
    whatever the number of demo quarters.
    """
    national = reference.degree_days_national()
    have = set(zip(national["aar"].astype(int), national["maaned"].astype(int)))
    normal = reference.degree_days_normal()
    rows = []
    for p in periods:
        for y, m in model.period_months(p):
            if (y, m) in have:
                continue
            f = np.random.default_rng([seed, y, m]).normal(0.92, 0.08)
            rows.append((y, m, round(float(normal[m]) * float(np.clip(f, 0.6, 1.25)), 1)))
    return pd.DataFrame(rows, columns=["aar", "maaned", "graddage"]).astype(
        {"aar": "int64", "maaned": "int64", "graddage": "float64"})


# --------------------------------------------------------------------------------------------------
# Quarterly values and submissions
# --------------------------------------------------------------------------------------------------


def _quarter_values(b: dict, t: int, periods: list[str], gd_q: float, rng: np.random.Generator) -> dict:
    """Values of every building for quarter t (numpy float arrays, NaN = not reported)."""
    nq = len(periods)
    year, q = model.parse_period(periods[t])
    B = len(b["area"])
    area, cat = b["area"], b["cat"]
    years_back = (nq - 1 - t) / 4  # how long before the last demo quarter
    price = (1 + COST_INFLATION) ** -years_back
    school = cat == CATS.index("skole")

    wf = b["w_eff"] / 100
    heat = area * b["heat_i"] * ((1 - wf) * gd_q / NORMAL_YEAR_GD * b["m_climate"] + wf * 0.25)
    heat *= (1 + HEAT_TREND) ** years_back * rng.lognormal(0, 0.05, B)
    el_season = np.where(school, EL_SEASON_SCHOOL[q - 1], EL_SEASON_OTHER[q - 1])
    el = area * b["el_i"] * el_season / 4 * (1 + EL_TREND) ** years_back * rng.lognormal(0, 0.04, B)
    water_season = np.where(school, WATER_SEASON_SCHOOL[q - 1], 1.0)
    water = area * b["water_i"] * water_season / 4 * rng.lognormal(0, 0.08, B)
    heat, el, water = np.rint(heat), np.rint(el), np.round(water, 1)

    # Users: pupils change with the school year (August), children with the season.
    school_year = year if q >= 3 else year - 1
    last_y, last_q = model.parse_period(periods[-1])
    last_school_year = last_y if last_q >= 3 else last_y - 1
    users = area / b["m2pu"]
    users = np.where(school, users * (1 + b["m_pupil_trend"]) ** (school_year - last_school_year), users)
    users = np.where(cat == CATS.index("dagtilbud"), users * DAYCARE_SEASON[q - 1], users)
    staff = ~school & (cat != CATS.index("dagtilbud")) & (cat != CATS.index("plejecenter"))
    users = np.where(staff, users * rng.lognormal(0, 0.02, B), users)
    users = np.where(b["users_missing"], np.nan, np.maximum(0, np.rint(users)))

    forsyning = (heat * b["m_p_heat"] * HEAT_PRICE_YEAR.get(year, 1.0)
                 + el * b["m_p_el"] * EL_PRICE_YEAR.get(year, 1.0)
                 + water * b["m_p_water"] * price)
    vac = np.where(t >= b["vac_start"], np.rint(area * b["vac_share"]), 0.0)
    return {
        "tomt_areal_m2": np.select([b["vac_kind"] == 0, b["vac_kind"] == 1], [0.0, np.nan], vac),
        "brugere": users,
        "varme_kwh": heat,
        "el_kwh": el,
        "vand_m3": np.where(b["water_missing"], np.nan, water),
        "rengoering_kr": np.rint(area * b["clean_rate"] / 4 * price * rng.lognormal(0, 0.03, B)),
        "forsyning_kr": np.rint(forsyning),
        "vedligehold_planlagt_kr": np.rint(
            area * b["plan_rate"] * PLANNED_SEASON[q - 1] / 4 * price * rng.gamma(2.0, 0.5, B)),
        "vedligehold_akut_kr": np.rint(area * b["akut_rate"] / 4 * price * rng.gamma(1.5, 1 / 1.5, B)),
        "teknisk_drift_kr": np.rint(area * b["drift_rate"] / 4 * price * rng.lognormal(0, 0.05, B)),
        "administration_kr": np.rint(area * b["admin_rate"] / 4 * price),
        "husleje_kr": np.rint(area * b["rent_rate"] / 4 * price),
        "tilstandsgrad": b["tg"],
        "indeklima": b["ik"],
        "efterslaeb_kr": np.round(area * b["backlog"] * 1.005 ** (t - (nq - 1)), -3),
    }


# Planted value slips: kind -> (column, how the reported value is made from the true one).
_SLIPS = {
    "kwh_som_mwh": ("varme_kwh", lambda x: round(x / 1000, 1)),
    "ekstrem_udgift": ("rengoering_kr", lambda x: x * 20),
    "kvartalsspring": ("el_kwh", lambda x: x * 4),
    "implausibelt_nul": ("el_kwh", lambda x: 0.0),
}


def _submissions(b: dict, mun: pd.DataFrame, periods: list[str], plan: dict, gd_month: dict,
                 rng: np.random.Generator) -> tuple[list[Submission], dict]:
    """Submissions per quarter and municipality, and the (true, reported) value of each planted error."""
    nq, B = len(periods), len(b["area"])
    codes = mun["kommunekode"].to_numpy(int)
    kom = b["kommunekode"]
    mun_start = np.searchsorted(kom, codes, "left")
    mun_end = np.searchsorted(kom, codes, "right")

    # The bygninger master with model dtypes, built once; quarters take row subsets of it.
    cat_of_code = dict(zip(reference.bbr_codes()["anvendelseskode"].astype(int), reference.bbr_codes()["kategori"]))
    derived = np.array([cat_of_code.get(int(c), "oevrige") for c in b["code"]], dtype=object)
    intended = np.array(CATS, dtype=object)[b["cat"]]
    master = model.coerce_dtypes(pd.DataFrame({
        "kommunekode": kom,
        "bygning_id": b["bygning_id"],
        "ejendom_id": b["ejendom_id"],
        "navn": b["navn"],
        "anvendelseskode": b["code"],
        "kategori": np.where(derived == intended, None, intended),
        "opfoerelsesaar": np.where(b["year_missing"], np.nan, b["year"]),
        "bruttoareal_m2": b["area"],
        "ejerforhold": np.where(b["rented"], "lejet", "ejet"),
        "varmeandel_vejruafhaengig_pct": b["w_override"],
    }), "bygninger")

    # Kategori_skift: from quarter t0 the daycare building is reported as an office building.
    shift = plan.get("kategori_skift")
    if shift:
        shift_i, shift_t = shift[0], shift[1]
        shift_kat = None if cat_of_code.get(321) == "administration" else "administration"
    changed = [set() for _ in range(nq)]  # municipalities whose building list changes in quarter t
    for i in plan["_new"]:
        changed[b["start_q"][i]].add(int(kom[i]))
    for i in plan["_sold"]:
        changed[b["end_q"][i] + 1].add(int(kom[i]))
    if shift:
        changed[shift_t].add(int(kom[shift_i]))

    subs: list[Submission] = []
    applied: dict[str, tuple[float, float]] = {}
    prev_byg: dict[int, pd.DataFrame] = {}
    for t, periode in enumerate(periods):
        gd_q = sum(gd_month[ym] for ym in model.period_months(periode))
        v = _quarter_values(b, t, periods, gd_q, rng)
        active = (b["start_q"] <= t) & (b["end_q"] >= t)
        rows = active.copy()

        # Planted errors in this quarter. They are reporting slips: forsyning_kr, priced from the
        # true consumption above, stays right.
        for kind, (i, tt) in ((k, plan[k]) for k in PLANTED_KINDS if k in plan):
            if kind in _SLIPS and tt == t:
                col, slip = _SLIPS[kind]
                applied[kind] = (float(v[col][i]), slip(float(v[col][i])))
                v[col][i] = applied[kind][1]
            elif kind == "manglende_kvartal" and tt == t:
                rows[i] = False
            elif kind == "kategori_skift" and t >= tt and not np.isnan(v["brugere"][i]):
                v["brugere"][i] = np.rint(b["area"][i] / 25)  # now staff, not children

        idx = np.flatnonzero(rows)
        kv = pd.DataFrame({"kommunekode": kom[idx], "bygning_id": b["bygning_id"][idx], "periode": periode,
                           **{k: a[idx] for k, a in v.items()}})
        kv = model.coerce_dtypes(kv, "kvartal")
        kv_start = np.searchsorted(kom[idx], codes, "left")
        kv_end = np.searchsorted(kom[idx], codes, "right")

        for j, k in enumerate(codes):
            k = int(k)
            if t == 0 or k in changed[t]:
                s, e = mun_start[j], mun_end[j]
                byg = master.iloc[s:e][active[s:e]].reset_index(drop=True)
                if shift and k == int(kom[shift_i]) and t >= shift_t:
                    hit = byg["bygning_id"] == b["bygning_id"][shift_i]
                    byg.loc[hit, "anvendelseskode"] = 321
                    byg.loc[hit, "kategori"] = shift_kat
            else:
                # Unchanged building list: share the data (copy-on-write keeps the frames independent).
                byg = prev_byg[k].copy(deep=False)
            prev_byg[k] = byg
            subs.append(Submission(k, periode, byg, kv.iloc[kv_start[j]:kv_end[j]].reset_index(drop=True)))
    return subs, applied
