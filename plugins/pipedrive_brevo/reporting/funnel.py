"""``funnel``: per pipeline, stage and period, how many deals reach a stage and how many go on.

Grain: one row per (pipeline, stage, ``period``), where ``period`` is the calendar month
(``YYYY-MM``, UTC) in which the deals *reached* the stage, plus one row per stage with
``period = "all"`` (every month together; present for every stage of the reported pipelines,
with zeros when no deal reached it). Each row describes the cohort of deals that reached the
stage in that period:

- ``deals_reached``: deals that entered this stage **or a later one** of the pipeline (Pipedrive's
  conversion funnel: a deal moved straight from stage 1 to stage 3 passed stage 2); reaching is
  dated by the first such entry;
- ``deals_entered``: deals that entered exactly this stage in the period (first entry);
- ``deals_in_stage``, ``value_base``, ``weighted_value_base``: the cohort's deals open in this
  stage at the end of the report date, and their base-currency sums; ``deals_without_rate``
  counts those whose currency has no rate (left out of the sums);
- ``conversion_to_next``: share of the cohort that reached the next stage (for the last stage:
  that was won); ``conversion_to_won``: share of the cohort won in this pipeline as of the date.

Entries come from :func:`.as_of.stage_events` (stage history, completed from the snapshot).
"""

from __future__ import annotations

import pandas as pd

from pipedrive_brevo.reporting.as_of import stage_table

COLUMNS: tuple[str, ...] = (
    "report_date", "pipeline_id", "pipeline_name", "stage_id", "stage_name", "stage_order", "period",
    "deals_entered", "deals_reached", "deals_in_stage", "value_base", "weighted_value_base", "deals_without_rate",
    "reached_next", "won", "conversion_to_next", "conversion_to_won",
)
ALL = "all"


def _month(at: pd.Series) -> pd.Series:
    return at.dt.tz_convert("UTC").dt.strftime("%Y-%m").astype("string")


def funnel(attribution: pd.DataFrame, events: pd.DataFrame, stages: list[dict], pipeline_names: pd.Series,
           report_date: str, *, pipeline_ids: tuple[int, ...] = ()) -> pd.DataFrame:
    """The ``funnel`` table. ``attribution`` is ``deals_attribution``; ``events`` from
    :func:`.as_of.stage_events`; ``pipeline_names`` maps pipeline id to name."""
    table = stage_table(stages).reset_index()
    pipelines = set(pipeline_ids) or set(attribution["pipeline_id"].dropna().astype(int)) | set(
        table["pipeline_id"].dropna().astype(int))
    table = table[table["pipeline_id"].isin(pipelines).fillna(False)]
    table = table.sort_values(["pipeline_id", "order_nr", "stage_id"], kind="stable")
    deals = attribution.set_index("deal_id")
    enters = events[(events["kind"] == "enter") & events["deal_id"].isin(deals.index)]
    enters = enters.assign(order_nr=table.set_index("stage_id")["order_nr"].reindex(enters["stage_id"]).to_numpy())

    rows: list[pd.DataFrame] = []
    for pipeline_id, stages_of in table.groupby("pipeline_id", sort=True):
        in_pipeline = enters[enters["pipeline_id"] == pipeline_id]
        reached = {}
        for stage in stages_of.itertuples():
            later = in_pipeline[(in_pipeline["order_nr"] >= stage.order_nr).fillna(False)]
            reached[stage.stage_id] = later.groupby("deal_id")["at"].min()
        won_here = deals.index[(deals["status"] == "won").to_numpy() & (deals["pipeline_id"] == pipeline_id)
                               .fillna(False).to_numpy()]
        ordered = list(stages_of.itertuples())
        for position, stage in enumerate(ordered):
            cohort = reached[stage.stage_id].rename("at").to_frame()
            cohort["period"] = _month(cohort["at"])
            if position + 1 < len(ordered):
                cohort["next"] = cohort.index.isin(reached[ordered[position + 1].stage_id].index)
            else:
                cohort["next"] = cohort.index.isin(won_here)
            cohort["won"] = cohort.index.isin(won_here)
            mine = deals.reindex(cohort.index)
            in_stage = (mine["status"] == "open").fillna(False) & (mine["stage_id"] == stage.stage_id).fillna(False)
            cohort["in_stage"] = in_stage.to_numpy()
            cohort["value_base"] = mine["value_base"].where(in_stage).to_numpy()
            cohort["weighted"] = mine["weighted_value_base"].where(in_stage).to_numpy()
            cohort["no_rate"] = (in_stage & mine["rate_missing"].fillna(False).astype(bool)).to_numpy()
            exact = in_pipeline[in_pipeline["stage_id"] == stage.stage_id].groupby("deal_id")["at"].min()
            entered = _month(exact).value_counts()
            frame = _aggregate(cohort, entered)
            frame.insert(0, "stage_order", stage.order_nr)
            frame.insert(0, "stage_name", stage.name)
            frame.insert(0, "stage_id", stage.stage_id)
            frame.insert(0, "pipeline_id", pipeline_id)
            rows.append(frame)
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "report_date", str(report_date))
    out["pipeline_name"] = pd.Series(pipeline_names.reindex(out["pipeline_id"]).to_numpy(), dtype="string")
    out = out.astype({"pipeline_id": "Int64", "stage_id": "Int64", "stage_order": "Int64", "stage_name": "string",
                      "period": "string"})
    return out[list(COLUMNS)]


def _aggregate(cohort: pd.DataFrame, entered: pd.Series) -> pd.DataFrame:
    """One row per period of the cohort plus the ``all`` row."""
    both = pd.concat([cohort, cohort.assign(period=ALL)], ignore_index=True)
    grouped = both.groupby("period", sort=True)
    frame = pd.DataFrame({
        "deals_reached": grouped.size(),
        "deals_in_stage": grouped["in_stage"].sum(),
        "value_base": grouped["value_base"].sum(min_count=1).astype("Float64").fillna(0.0).round(2),
        "weighted_value_base": grouped["weighted"].sum(min_count=1).astype("Float64").fillna(0.0).round(2),
        "deals_without_rate": grouped["no_rate"].sum(),
        "reached_next": grouped["next"].sum(),
        "won": grouped["won"].sum(),
    })
    if ALL not in frame.index:
        frame.loc[ALL] = [0, 0, 0.0, 0.0, 0, 0, 0]
    entered = pd.concat([entered, pd.Series({ALL: int(entered.sum())})])
    frame = frame.reindex(frame.index.union(entered.index), fill_value=0)
    frame["deals_entered"] = entered.reindex(frame.index, fill_value=0)
    counts = ["deals_entered", "deals_reached", "deals_in_stage", "deals_without_rate", "reached_next", "won"]
    frame[counts] = frame[counts].astype("int64")
    reached = frame["deals_reached"].where(frame["deals_reached"] > 0)
    frame["conversion_to_next"] = (frame["reached_next"] / reached).round(4).astype("Float64")
    frame["conversion_to_won"] = (frame["won"] / reached).round(4).astype("Float64")
    ordered = sorted(frame.index, key=lambda p: (p == ALL, p))
    return frame.loc[ordered].rename_axis("period").reset_index()
