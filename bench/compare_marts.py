"""Do two computed databases hold the same mart? For checking that an optimisation changes nothing.

    python bench/compare_marts.py BEFORE.duckdb AFTER.duckdb

Compares `bygningsfakta`, `fund` and the group rows of the mart view `noegletal` (all but niveau
bygning: the stored `noegletal_grupper` plus the columns the view adds, so marts stored with fewer
columns compare too): column types, the rows (matched on every column that is not a float: no row
missing or extra) and every float within a relative 1e-9. Row order is not compared. Exit code 0
when the marts are the same, 1 otherwise.
"""

from __future__ import annotations

import sys

import duckdb

# name -> the rows of database {db}
TABLES = {
    "bygningsfakta": "{db}.bygningsfakta",
    "group rows": "(SELECT * FROM {db}.noegletal WHERE niveau <> 'bygning')",
    "fund": "{db}.fund",
}


def columns(con: duckdb.DuckDBPyConnection, rows: str) -> dict[str, str]:
    described = con.execute(f"DESCRIBE SELECT * FROM {rows}").fetchall()
    return {name: data_type for name, data_type, *_ in described}


def compare(con: duckdb.DuckDBPyConnection, table: str, rows: str) -> bool:
    a, b = rows.format(db="a"), rows.format(db="b")
    before, after = columns(con, a), columns(con, b)
    if before != after:
        print(f"{table}: columns differ: {sorted(set(before.items()) ^ set(after.items()))}")
        return False
    floats = [c for c, t in before.items() if t in ("DOUBLE", "FLOAT")]
    keys = " AND ".join(f'x."{c}" IS NOT DISTINCT FROM y."{c}"' for c in before if c not in floats)
    differs = " OR ".join(
        f'NOT (x."{c}" IS NOT DISTINCT FROM y."{c}" OR abs(x."{c}" - y."{c}") <= 1e-9 * greatest(abs(x."{c}"), abs(y."{c}")))'
        for c in floats) or "false"
    n_a, n_b = (con.execute(f"SELECT count(*) FROM {r}").fetchone()[0] for r in (a, b))
    missing = con.execute(f"SELECT count(*) FROM {a} x ANTI JOIN {b} y ON {keys}").fetchone()[0]
    extra = con.execute(f"SELECT count(*) FROM {b} y ANTI JOIN {a} x ON {keys}").fetchone()[0]
    changed = con.execute(f"SELECT count(*) FROM {a} x JOIN {b} y ON {keys} WHERE {differs}").fetchone()[0]
    print(f"{table}: {n_a} and {n_b} rows; missing {missing}, extra {extra}, floats that differ {changed}")
    return n_a == n_b and missing == extra == changed == 0


def main() -> int:
    before, after = sys.argv[1:3]
    con = duckdb.connect()
    con.execute(f"ATTACH '{before}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{after}' AS b (READ_ONLY)")
    same = all([compare(con, table, rows) for table, rows in TABLES.items()])
    print("the same" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
