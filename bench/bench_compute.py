"""Benchmark of `noegletal compute` (DESIGN.md target: national scale in ≤ 10 s and ≤ 2 GB peak).

    python bench/bench_compute.py --municipalities 98 --quarters 40         # national scale
    python bench/bench_compute.py --municipalities 30 --quarters 8 --naive  # and the naive baseline
    python bench/bench_compute.py --db bench/work/national.duckdb --json F  # phases of an existing database

Builds a demo database with `noegletal.demo.generate` (stored directly with `Store.add_submission`,
skipping validation, which is not what is measured), then times each phase of the engine (wall and
CPU seconds) and reports the peak resident memory of the process. With --naive it also times
bench/naive_compute.py on the same data and checks that both marts agree. The database is kept in
--workdir and reused when it exists (building the national one takes a few minutes).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from noegletal import compute, definitions, demo, keyfigures, quality
from noegletal.store import Store


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # Linux: kB


def make_db(path: Path, municipalities: int, quarters: int, seed: int) -> None:
    data = demo.generate(n_municipalities=municipalities, n_quarters=quarters, seed=seed)
    with Store(path) as store:
        if not data.degree_days.empty:
            store.upsert_degree_days(data.degree_days, serie="syntetisk")
        for sub in data.submissions:
            store.add_submission(sub.kommunekode, sub.periode, sub.bygninger, sub.kvartal, "bench")


class Timer:
    def __init__(self):
        self.rows = []

    def __call__(self, name, fn, *args):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn(*args)
        self.rows.append((name, time.perf_counter() - wall, time.process_time() - cpu, peak_gb()))
        return out

    def report(self, title):
        print(f"\n{title}")
        print(f"{'phase':<12}{'wall s':>9}{'cpu s':>9}{'peak GB':>9}")
        for name, wall, cpu, peak in self.rows:
            print(f"{name:<12}{wall:>9.2f}{cpu:>9.2f}{peak:>9.2f}")
        print(f"{'total':<12}{sum(r[1] for r in self.rows):>9.2f}{sum(r[2] for r in self.rows):>9.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--municipalities", type=int, default=98)
    p.add_argument("--quarters", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/noegletal-bench"))
    p.add_argument("--no-quality", action="store_true", help="skip the data-quality checks (engine only)")
    p.add_argument("--naive", action="store_true", help="also run the naive pandas implementation")
    p.add_argument("--db", type=Path, help="time this database (a copy of it) instead of a generated demo")
    p.add_argument("--json", type=Path, help="also write the phases (wall and CPU seconds) to this file")
    a = p.parse_args()

    a.workdir.mkdir(parents=True, exist_ok=True)
    source = a.db or a.workdir / f"demo_{a.municipalities}x{a.quarters}_{a.seed}.duckdb"
    if not source.exists():
        start = time.perf_counter()
        make_db(source, a.municipalities, a.quarters, a.seed)
        print(f"demo database {source} built in {time.perf_counter() - start:.0f} s")
    work = a.workdir / "run.duckdb"
    shutil.copy(source, work)
    defs = definitions.default()

    t = Timer()
    with Store(work) as store:
        n = store.query("SELECT count(*) AS n FROM kvartal")["n"].iloc[0]
        print(f"{a.municipalities} municipalities x {a.quarters} quarters: {n:,} building quarters")
        with compute._duckdb_memory(store):  # the phases of compute.build, timed one by one
            facts = t("facts", keyfigures.building_facts, store, defs)
            find = quality.empty_findings if a.no_quality else None
            findings = t("quality", lambda: (quality.find(store, facts, defs) if find is None else find()))
            udeladt, aarsag = t("exclusions", keyfigures.exclusions, facts, findings)
            groups = t("groups", keyfigures.group_rows, store, facts, udeladt, defs)
        tables = {keyfigures.FACTS_TABLE: facts.assign(udeladt=udeladt, udeladt_aarsag=aarsag), "fund": findings,
                  keyfigures.GROUP_TABLE: groups}
        t("save", compute.save, store, tables, defs)
        print(f"{len(facts):,} fact rows, {len(groups):,} group rows, {len(findings):,} findings")
    t.report("engine (noegletal.compute phases)")
    if a.json:
        a.json.write_text(json.dumps({name: {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}
                                      for name, wall, cpu, _ in t.rows}, indent=2))

    if a.naive:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import naive_compute

        with Store(work, read_only=True) as store:
            start = time.perf_counter()
            naive = naive_compute.compute(store, store.table("fund"))
            naive_s = time.perf_counter() - start
            engine = store.table(keyfigures.MART_VIEW)
        print(f"\nnaive: {naive_s:.1f} s ({len(naive):,} rows); engine total "
              f"{sum(r[1] for r in t.rows):.1f} s ({len(engine):,} rows)")
        keys = ["periode", "vindue", "niveau", "kommunekode", "enhed", "kategori", "noegletal"]
        for d in (naive, engine):
            d["kommunekode"] = d["kommunekode"].astype("Int64")
            d["kategori"] = d["kategori"].astype(object).where(d["kategori"].notna(), "")
        both = engine.merge(naive, on=keys, how="outer", suffixes=("", "_naive"), indicator=True)
        same_rows = bool((both["_merge"] == "both").all())
        same_values = all(
            np.allclose(both[c].astype(float), both[c + "_naive"].astype(float), rtol=1e-9, equal_nan=True)
            for c in ("vaerdi", "taeller", "naevner", "median", "p10", "p90", "antal_bygninger")
        )
        print(f"naive and engine agree: rows {same_rows}, values {same_values}")


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
