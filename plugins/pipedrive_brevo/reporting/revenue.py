"""``revenue_by_source``: won deals, won value and win rate by where deals came from, per cohort.

Grain: one row per combination of ``lead_source``, ``channel``, ``origin``, owner
(``owner_id``, ``owner_name``) and ``cohort_month`` (the ``YYYY-MM`` the deal was added, UTC) that
has at least one deal as of the report date. A missing source, channel or origin reads
``(none)``, so a BI tool can group by any subset of the columns and add the counts up:

- ``deals``, ``open_deals``, ``won_deals``, ``lost_deals``;
- ``won_value_base``: the sum of the won deals' values in ``base_currency``; a won deal whose
  currency has no rate is left out of it and counted in ``won_deals_without_rate``;
- ``win_rate`` = won / (won + lost), null while none is closed (open deals are undecided).
"""

from __future__ import annotations

import pandas as pd

COLUMNS: tuple[str, ...] = (
    "report_date", "lead_source", "channel", "origin", "owner_id", "owner_name", "cohort_month",
    "deals", "open_deals", "won_deals", "lost_deals", "won_value_base", "won_deals_without_rate", "win_rate",
    "base_currency",
)
NONE = "(none)"
KEYS = ["lead_source", "channel", "origin", "owner_id", "owner_name", "cohort_month"]


def revenue_by_source(attribution: pd.DataFrame, report_date: str, base_currency: str) -> pd.DataFrame:
    """The ``revenue_by_source`` table from ``deals_attribution``."""
    frame = pd.DataFrame({
        "lead_source": attribution["lead_source"].astype("string").fillna(NONE),
        "channel": attribution["channel"].astype("string").fillna(NONE),
        "origin": attribution["origin"].astype("string").fillna(NONE),
        "owner_id": attribution["owner_id"].astype("Int64"),
        "owner_name": attribution["owner_name"].astype("string").fillna(NONE),
        "cohort_month": attribution["add_time"].dt.strftime("%Y-%m").astype("string"),
        "open": attribution["status"] == "open",
        "won": attribution["status"] == "won",
        "lost": attribution["status"] == "lost",
    })
    frame["won_value"] = attribution["value_base"].where(frame["won"])
    frame["won_unpriced"] = frame["won"] & attribution["value_base"].isna()
    grouped = frame.groupby(KEYS, dropna=False, sort=True)
    out = pd.DataFrame({
        "deals": grouped.size(),
        "open_deals": grouped["open"].sum(),
        "won_deals": grouped["won"].sum(),
        "lost_deals": grouped["lost"].sum(),
        "won_value_base": grouped["won_value"].sum(min_count=1).astype("Float64").fillna(0.0).round(2),
        "won_deals_without_rate": grouped["won_unpriced"].sum(),
    }).reset_index()
    closed = (out["won_deals"] + out["lost_deals"]).where(lambda n: n > 0)
    out["win_rate"] = (out["won_deals"] / closed).round(4).astype("Float64")
    out["report_date"] = str(report_date)
    out["base_currency"] = base_currency
    counts = ["deals", "open_deals", "won_deals", "lost_deals", "won_deals_without_rate"]
    return out.astype({**dict.fromkeys(counts, "int64"), "owner_id": "Int64"})[list(COLUMNS)]
