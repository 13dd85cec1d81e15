"""``velocity``: how long deals spend in each stage, and how long they take to be won or lost.

One row per (pipeline, stage) with ``level = "stage"``, and one per pipeline with
``level = "pipeline"`` (stage columns null) for the whole pipeline. All durations are in days
(fractional), medians and 90th percentiles by linear interpolation (``pandas.Series.quantile``).

- **Days in stage** (``stage_spells``, ``median_days_in_stage``, ``p90_days_in_stage``): from the
  per-deal sequence of :func:`.as_of.stage_events`, a spell runs from entering a stage to the
  deal's next stage entry or closing, whichever comes first. Spells still running at the end of
  the report date are not measured (their length is not known yet). Null on pipeline rows.
- **Cycle time** (``won_deals``, ``median_days_to_won``, ``p90_days_to_won`` and the same for lost):
  ``add_time`` to ``won_time``/``lost_time`` of the deals won or lost as of the date; on a stage
  row, of those closed while in that stage; on a pipeline row, of all of the pipeline's.
"""

from __future__ import annotations

import pandas as pd

from pipedrive_brevo.reporting.as_of import CLOSED, stage_table

COLUMNS: tuple[str, ...] = (
    "report_date", "level", "pipeline_id", "pipeline_name", "stage_id", "stage_name", "stage_order",
    "stage_spells", "median_days_in_stage", "p90_days_in_stage",
    "won_deals", "median_days_to_won", "p90_days_to_won", "lost_deals", "median_days_to_lost", "p90_days_to_lost",
)
DAY = 86400.0


def spells(events: pd.DataFrame) -> pd.DataFrame:
    """Completed stays in a stage: ``deal_id``, ``pipeline_id``, ``stage_id``, ``days``."""
    ends = events[events["kind"] != "open"].sort_values(["deal_id", "at"], kind="stable")
    next_at = ends.groupby("deal_id")["at"].shift(-1)
    stays = ends.assign(next_at=next_at)
    stays = stays[(stays["kind"] == "enter") & stays["next_at"].notna()]
    days = (stays["next_at"] - stays["at"]).dt.total_seconds() / DAY
    return pd.DataFrame({"deal_id": stays["deal_id"], "pipeline_id": stays["pipeline_id"],
                         "stage_id": stays["stage_id"], "days": days.astype("float64")}).reset_index(drop=True)


def _stats(values: pd.Series) -> tuple[int, float | None, float | None]:
    values = values.dropna().astype("float64")
    if not len(values):
        return 0, None, None
    return len(values), round(float(values.quantile(0.5)), 2), round(float(values.quantile(0.9)), 2)


def velocity(attribution: pd.DataFrame, events: pd.DataFrame, stages: list[dict], pipeline_names: pd.Series,
             report_date: str, *, pipeline_ids: tuple[int, ...] = ()) -> pd.DataFrame:
    """The ``velocity`` table (see the module docstring)."""
    table = stage_table(stages).reset_index()
    pipelines = set(pipeline_ids) or set(attribution["pipeline_id"].dropna().astype(int)) | set(
        table["pipeline_id"].dropna().astype(int))
    table = table[table["pipeline_id"].isin(pipelines).fillna(False)]
    table = table.sort_values(["pipeline_id", "order_nr", "stage_id"], kind="stable")
    stays = spells(events[events["deal_id"].isin(attribution["deal_id"])])
    closed = attribution[attribution["status"].isin(CLOSED)]

    rows = []
    for pipeline_id in sorted(pipelines):
        mine = closed[(closed["pipeline_id"] == pipeline_id).fillna(False)]
        for stage in table[table["pipeline_id"] == pipeline_id].itertuples():
            here = mine[(mine["stage_id"] == stage.stage_id).fillna(False)]
            rows.append({"level": "stage", "pipeline_id": pipeline_id, "stage_id": stage.stage_id,
                         "stage_name": stage.name, "stage_order": stage.order_nr,
                         **_in_stage(stays[stays["stage_id"] == stage.stage_id]["days"]), **_cycle(here)})
        rows.append({"level": "pipeline", "pipeline_id": pipeline_id, "stage_id": None, "stage_name": None,
                     "stage_order": None, "stage_spells": None, "median_days_in_stage": None,
                     "p90_days_in_stage": None, **_cycle(mine)})
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("report_date", "pipeline_name")])
    out.insert(0, "report_date", str(report_date))
    out.insert(3, "pipeline_name", pd.Series(pipeline_names.reindex(out["pipeline_id"]).to_numpy(), dtype="string"))
    floats = [c for c in COLUMNS if c.startswith(("median", "p90"))]
    return out.astype({"pipeline_id": "Int64", "stage_id": "Int64", "stage_order": "Int64", "stage_name": "string",
                       "level": "string", "stage_spells": "Int64", "won_deals": "int64", "lost_deals": "int64",
                       **dict.fromkeys(floats, "Float64")})[list(COLUMNS)]


def _in_stage(days: pd.Series) -> dict[str, object]:
    count, median, p90 = _stats(days)
    return {"stage_spells": count, "median_days_in_stage": median, "p90_days_in_stage": p90}


def _cycle(closed: pd.DataFrame) -> dict[str, object]:
    out: dict[str, object] = {}
    for status in CLOSED:
        deals = closed[closed["status"] == status]
        days = (deals["close_time"] - deals["add_time"]).dt.total_seconds() / DAY
        count, median, p90 = _stats(days)
        out.update({f"{status}_deals": count, f"median_days_to_{status}": median, f"p90_days_to_{status}": p90})
    return out
