"""The key-figure mart the straightforward pandas way: the baseline the benchmark compares with.

Same definitions and rules as `noegletal.keyfigures` (DESIGN.md, "Key figures"), written as one would
first write it: merge the submissions, build the rolling year with a loop over periods and groupby,
evaluate each key figure's expressions on pandas columns, and loop over key figures and group levels
with groupby-apply for the ratio of sums and the quantiles. It shares no code with the engine apart
from reading the store and the definitions sheet, so `tests/test_keyfigures.py` can check that both
give the same mart.

    python bench/naive_compute.py DB   # prints the number of group rows and the time
"""

from __future__ import annotations

import ast
import sys
import time

import numpy as np
import pandas as pd

from noegletal import definitions
from noegletal.store import Store

WINDOWS = ("kvartal", "loebende_aar")


def _shift(periode: str, k: int) -> str:
    y, q = int(periode[:4]), int(periode[5])
    i = y * 4 + q - 1 + k
    return f"{i // 4}Q{i % 4 + 1}"


def _evaluate(text: str, df: pd.DataFrame) -> pd.Series:
    """A definitions-sheet expression on pandas columns (NaN = not reported)."""

    def ev(node):
        if isinstance(node, ast.Name):
            return df[node.id].astype(float)
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            return a * b if isinstance(node.op, ast.Mult) else a / b
        # sum(...): the reported parts added up, NaN only when none is reported
        parts = pd.concat([ev(a) for a in node.args], axis=1)
        return parts.sum(axis=1, min_count=1)

    out = ev(ast.parse(text, mode="eval").body)
    return out if isinstance(out, pd.Series) else pd.Series(out, index=df.index)


def facts(store, defs) -> pd.DataFrame:
    """Building facts of both windows."""
    byg = store.latest("bygninger").rename(columns={"indberetning_periode": "periode"})
    kv = store.latest("kvartal").drop(columns="periode").rename(columns={"indberetning_periode": "periode"})
    q = kv.merge(byg, on=["kommunekode", "bygning_id", "periode"], how="inner")
    bbr = store.table("bbr_koder").set_index("anvendelseskode")["kategori"]
    q["kategori"] = q["kategori"].astype(object)
    from_code = q["anvendelseskode"].map(bbr).fillna("oevrige")
    q["kategori"] = q["kategori"].where(q["kategori"].notna(), from_code)
    q["lejet_areal_m2"] = np.where(q["ejerforhold"] == "lejet", q["bruttoareal_m2"], 0.0)
    w_default = defs.w_default()
    q["w_pct"] = q["varmeandel_vejruafhaengig_pct"].astype(float).fillna(q["kategori"].map(w_default))
    numeric = [c for c in defs.kolonner if c not in ("befolkning", "varme_normaliseret_kwh")]
    for c in numeric:
        q[c] = q[c].astype(float)
    q["vindue"] = "kvartal"
    rows = [q]
    for p in sorted(q["periode"].unique()):
        window = [_shift(p, -k) for k in range(4)]
        part = q[q["periode"].isin(window)]
        g = part.groupby(["kommunekode", "bygning_id"])
        n_quarters = g["periode"].nunique()
        year = {}
        for c in numeric:
            agg = g[c].sum() if defs.kolonner[c].aggregering == "sum" else g[c].mean()
            year[c] = agg.where(g[c].count() == 4)
        year = pd.DataFrame(year)[n_quarters == 4]
        meta = q[q["periode"] == p].set_index(["kommunekode", "bygning_id"]).drop(columns=numeric)
        year = year.join(meta, how="inner").reset_index()
        year["vindue"] = "loebende_aar"
        rows.append(year)
    f = pd.concat(rows, ignore_index=True)
    # degree days: sum of the window's months
    actual = store.degree_days().set_index(["aar", "maaned"])["graddage"]
    normal = store.degree_days_normal()

    def months(p, vindue):
        quarters = [_shift(p, -k) for k in range(1 if vindue == "kvartal" else 4)]
        return [(int(x[:4]), m) for x in quarters for m in range(3 * int(x[5]) - 2, 3 * int(x[5]) + 1)]

    gd = {}
    for (p, v) in f[["periode", "vindue"]].drop_duplicates().itertuples(index=False):
        ms = months(p, v)
        gd[(p, v)] = (sum(actual.get(m, np.nan) for m in ms), float(sum(normal[m] for _, m in ms)))
    f["gd_actual"] = [gd[(p, v)][0] for p, v in zip(f["periode"], f["vindue"])]
    f["gd_normal"] = [gd[(p, v)][1] for p, v in zip(f["periode"], f["vindue"])]
    f["varme_normaliseret_kwh"] = f["varme_kwh"] * ((100 - f["w_pct"]) * f["gd_normal"] / f["gd_actual"] + f["w_pct"]) / 100
    return f


def excluded(f: pd.DataFrame, findings: pd.DataFrame) -> pd.Series:
    """True for rows of a building with a `fejl` finding in a quarter of the window."""
    fejl = findings[findings["alvor"] == "fejl"]
    blocked = set()
    for r in fejl.itertuples(index=False):
        blocked.add((int(r.kommunekode), str(r.bygning_id), str(r.periode), "kvartal"))
        for k in range(4):
            blocked.add((int(r.kommunekode), str(r.bygning_id), _shift(str(r.periode), k), "loebende_aar"))
    return pd.Series(
        [(int(k), str(b), str(p), str(v)) in blocked
         for k, b, p, v in zip(f["kommunekode"], f["bygning_id"], f["periode"], f["vindue"])],
        index=f.index,
    )


def mart(store, f: pd.DataFrame, findings: pd.DataFrame, defs, building_rows: bool = True) -> pd.DataFrame:
    """All rows of the mart: group rows, and building rows unless `building_rows` is False."""
    kom = store.municipalities().set_index("kommunekode")
    f = f.copy()
    f["udeladt"] = excluded(f, findings)
    f["kommunegruppe"] = f["kommunekode"].map(kom["kommunegruppe_kode"]).astype(int)
    rows, building_frames = [], []

    def quantiles(values: pd.Series) -> dict:
        qs = values.quantile([0.1, 0.5, 0.9])
        return {"p10": qs[0.1], "median": qs[0.5], "p90": qs[0.9]}

    for kf in defs.noegletal:
        cols = set(defs.expression(kf.id, "taeller").columns) | set(defs.expression(kf.id, "naevner").columns)
        if "befolkning" in cols:
            # municipality figure: m² of all buildings of the municipality / population
            for (p, v), part in f[~f["udeladt"]].groupby(["periode", "vindue"]):
                units = []
                for k, kpart in part.groupby("kommunekode"):
                    t = _evaluate(kf.taeller, kpart.assign(befolkning=kom.loc[k, "befolkning"]))
                    n = float(kom.loc[k, "befolkning"])
                    if t.notna().sum() == 0 or not n > 0:
                        continue
                    units.append({"kommunekode": k, "taeller": t.sum(), "naevner": n, "antal": int(t.notna().sum()),
                                  "gruppe": int(kom.loc[k, "kommunegruppe_kode"])})
                u = pd.DataFrame(units)
                if u.empty:
                    continue
                u["vaerdi"] = u["taeller"] / u["naevner"]
                for r in u.itertuples(index=False):
                    rows.append({"periode": p, "vindue": v, "niveau": "kommune", "kommunekode": r.kommunekode,
                                 "enhed": str(r.kommunekode), "kategori": None, "noegletal": kf.id,
                                 "taeller": r.taeller, "naevner": r.naevner, "antal_bygninger": r.antal,
                                 **quantiles(pd.Series([r.vaerdi]))})
                for g, gpart in u.groupby("gruppe"):
                    rows.append({"periode": p, "vindue": v, "niveau": "gruppe", "kommunekode": None,
                                 "enhed": f"kommunegruppe_{g}", "kategori": None, "noegletal": kf.id,
                                 "taeller": gpart["taeller"].sum(), "naevner": gpart["naevner"].sum(),
                                 "antal_bygninger": gpart["antal"].sum(), **quantiles(gpart["vaerdi"])})
                rows.append({"periode": p, "vindue": v, "niveau": "alle", "kommunekode": None, "enhed": "alle",
                             "kategori": None, "noegletal": kf.id, "taeller": u["taeller"].sum(),
                             "naevner": u["naevner"].sum(), "antal_bygninger": u["antal"].sum(),
                             **quantiles(u["vaerdi"])})
            continue
        b = f.copy()
        b["taeller"] = _evaluate(kf.taeller, b)
        b["naevner"] = _evaluate(kf.naevner, b)
        b = b[b["taeller"].notna() & (b["naevner"] > 0)].copy()
        b["vaerdi"] = b["taeller"] / b["naevner"]
        if building_rows and "bygning" in kf.niveauer:
            building_frames.append(pd.DataFrame({
                "periode": b["periode"], "vindue": b["vindue"], "niveau": "bygning", "kommunekode": b["kommunekode"],
                "enhed": b["bygning_id"], "kategori": b["kategori"], "noegletal": kf.id, "taeller": b["taeller"],
                "naevner": b["naevner"], "udeladt": b["udeladt"],
            }))
        members = b[~b["udeladt"]]
        levels = [
            ("kategori", ["kommunekode", "kategori"]),
            ("kommune", ["kommunekode"]),
            ("gruppe", ["kommunegruppe", "kategori"]),
            ("gruppe", ["kommunegruppe"]),
            ("alle", ["kategori"]),
            ("alle", []),
        ]
        for niveau, by in levels:
            if niveau not in kf.niveauer:
                continue
            for key, g in members.groupby(["periode", "vindue", *by]):
                key = dict(zip(["periode", "vindue", *by], key))
                kat = key.get("kategori")
                enhed = {"kategori": kat, "kommune": str(key.get("kommunekode")),
                         "gruppe": f"kommunegruppe_{key.get('kommunegruppe')}", "alle": "alle"}[niveau]
                rows.append({"periode": key["periode"], "vindue": key["vindue"], "niveau": niveau,
                             "kommunekode": key.get("kommunekode"), "enhed": enhed, "kategori": kat,
                             "noegletal": kf.id, "taeller": g["taeller"].sum(), "naevner": g["naevner"].sum(),
                             "antal_bygninger": len(g), **quantiles(g["vaerdi"])})
    out = pd.concat([pd.DataFrame(rows), *building_frames], ignore_index=True)
    out["vaerdi"] = out["taeller"] / out["naevner"]
    out["definitioner_version"] = defs.version
    out["udeladt"] = out["udeladt"].fillna(False).astype(bool) if "udeladt" in out else False
    return out


def compute(store, findings: pd.DataFrame | None = None, defs=None, building_rows: bool = True) -> pd.DataFrame:
    """The naive mart; `findings` default: none (pass the engine's `fund` to compare exclusions)."""
    defs = defs or definitions.default()
    f = facts(store, defs)
    if findings is None:
        findings = pd.DataFrame(columns=["periode", "kommunekode", "bygning_id", "alvor"])
    return mart(store, f, findings, defs, building_rows)


if __name__ == "__main__":
    # Building rows are not materialised here, as the engine keeps them as a view over bygningsfakta:
    # at national scale they are ~70 million rows.
    start = time.perf_counter()
    with Store(sys.argv[1], read_only=True) as s:
        result = compute(s, building_rows=False)
    print(f"{len(result)} group rows in {time.perf_counter() - start:.1f} s")
