"""Deal metrics per contact: won, lost, open and closed deal counts and the lifetime value.

CONTRACT §4, computed fields, over the person's deals that are **not deleted** (archived deals
count: archiving hides a deal in Pipedrive's lists, it does not undo the sale):

- ``won_deals_count``, ``lost_deals_count``, ``open_deals_count``; ``closed_deals_count`` = won + lost;
- ``total_revenue``: the sum of the values of won deals in ``options.currency.base``, each value
  times its currency's rate (the base-currency value of one unit). A won deal in a currency with
  no rate is left out of the sum and reported as ``no_currency_rate``; so is only a deal that
  counts for a synced contact, since only those change what Brevo holds. The sum is rounded to
  cents, so a rerun compares equal and no float noise reads as a change.

Metrics are summed per *contact*, not per person: several persons with one email are one Brevo
contact whose metrics are taken over all of them. The caller says which contact each person is
(``contact_of``), so this module knows nothing of emails or merging.
"""

from __future__ import annotations

import pandas as pd

from pipedrive_brevo.config import CurrencyOptions
from pipedrive_brevo.transform import records, rejects

METRICS: tuple[str, ...] = (
    "won_deals_count", "lost_deals_count", "open_deals_count", "closed_deals_count", "total_revenue",
)
STATUSES: tuple[str, ...] = ("open", "won", "lost")


def live_deals(deals: pd.DataFrame | None) -> pd.DataFrame:
    """The deals that are not deleted, reduced to the columns the rules read, with clean types.

    Columns: ``id`` and ``person_id`` (Int64), ``status`` (``open``/``won``/``lost``), ``stage_id``
    (Int64), ``value`` (float, 0 when missing), ``currency`` (string).
    """
    if deals is None or not len(deals):
        return pd.DataFrame({"id": pd.Series(dtype="Int64"), "person_id": pd.Series(dtype="Int64"),
                             "status": pd.Series(dtype="string"), "stage_id": pd.Series(dtype="Int64"),
                             "value": pd.Series(dtype="float64"), "currency": pd.Series(dtype="string")})
    status = records.column(deals, "status").astype("string").str.lower()
    keep = ~records.is_deleted(deals) & (status != "deleted").fillna(True)
    kept = deals[keep.to_numpy()]
    return pd.DataFrame({
        "id": records.ids(records.column(kept, "id")),
        "person_id": records.ids(records.column(kept, "person_id")),
        "status": status[keep.to_numpy()],
        "stage_id": records.ids(records.column(kept, "stage_id")),
        "value": pd.to_numeric(records.column(kept, "value"), errors="coerce").fillna(0.0).astype("float64"),
        "currency": records.column(kept, "currency").astype("string").str.strip().str.upper(),
    }).reset_index(drop=True)


def deal_metrics(deals: pd.DataFrame, contact_of: pd.Series, currency: CurrencyOptions) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(metrics, rejects)``: one row per contact that has deals, indexed by contact.

    ``deals`` comes from :func:`live_deals`; ``contact_of`` maps person id → contact (any
    hashable key). Contacts without deals are absent: the caller fills them with 0, since counts
    and LTV are sent even when they are 0.
    """
    contact = deals["person_id"].map(contact_of)
    mine = deals.assign(contact=contact)[contact.notna().to_numpy()]
    counts = (mine.groupby(["contact", "status"], observed=True).size()
              .unstack("status", fill_value=0)
              .reindex(columns=list(STATUSES), fill_value=0))
    won = mine[mine["status"] == "won"]
    codes = won["currency"].dropna().unique()
    rates = {code: currency.rate(code) for code in codes}
    rate = won["currency"].map(rates).astype("Float64")
    priced = rate.notna().to_numpy()
    revenue = (won["value"][priced] * rate[priced].astype(float)).groupby(won["contact"][priced]).sum()

    metrics = pd.DataFrame({
        "won_deals_count": counts["won"],
        "lost_deals_count": counts["lost"],
        "open_deals_count": counts["open"],
        "closed_deals_count": counts["won"] + counts["lost"],
    }).astype("Float64")
    metrics["total_revenue"] = revenue.reindex(metrics.index, fill_value=0.0).round(2).astype("Float64")

    unpriced = won[~priced]
    problems = rejects.make("deal", unpriced["id"], "no_currency_rate", field="currency",
                            values=unpriced["currency"],
                            detail=[f"person {p}, value {v:.2f}" for p, v in zip(unpriced["person_id"], unpriced["value"],
                                                                                strict=True)])
    return metrics, problems
