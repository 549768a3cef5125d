"""Round status: who has submitted for a quarter, their newest revision, warnings and the deadline.

Members are the municipalities that have ever submitted (any quarter): the collaboration has no
membership register in the database, and a municipality that has taken part once is expected every
quarter.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from noegletal import model
from noegletal.store import Store

COLUMNS = ["kommunekode", "navn", "modtaget", "revision", "indlaest", "advarsler", "frist", "dage_til_frist", "status"]


def round_status(store: Store, periode: str, today: dt.date | None = None) -> pd.DataFrame:
    """One row per member: modtaget (bool), newest revision and its ingest time, number of warnings,
    frist (deadline), dage_til_frist (negative = overdue) and a status text.

    Raises ValueError (Danish message) for a malformed period.
    """
    model.parse_period(periode)
    today = today or dt.date.today()
    frist = model.deadline(periode)
    subs = store.submissions()
    names = store.municipalities().set_index("kommunekode")["navn"]
    members = sorted(subs["kommunekode"].unique()) if len(subs) else []
    newest = (
        subs[subs["periode"] == periode]
        .sort_values("revision")
        .groupby("kommunekode")
        .last()
    )
    rows = []
    for kode in members:
        got = kode in newest.index
        sub = newest.loc[kode] if got else None
        days = (frist - today).days
        if got:
            text = "modtaget"
        elif days >= 0:
            text = f"mangler ({days} dage til fristen)"
        else:
            text = f"mangler (fristen overskredet med {-days} dage)"
        rows.append({
            "kommunekode": int(kode),
            "navn": names.get(kode, ""),
            "modtaget": got,
            "revision": int(sub["revision"]) if got else None,
            "indlaest": sub["indlaest"] if got else None,
            "advarsler": len(json.loads(sub["advarsler"])) if got else None,
            "frist": frist,
            "dage_til_frist": days,
            "status": text,
        })
    df = pd.DataFrame(rows, columns=COLUMNS)
    return df.astype({"kommunekode": "int64", "modtaget": "bool", "revision": "Int64", "advarsler": "Int64",
                      "dage_til_frist": "int64"})
