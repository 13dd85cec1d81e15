"""The as-of rule: the pipeline as it stood at the end of the report date (UTC).

A report for date ``D`` describes the pipeline at ``cutoff = D + 1 day, 00:00 UTC``, so that a
backfill of past dates gives what a report run on that day would have given (as far as the data
location remembers):

- a deal added at or after the cutoff is left out; so is one deleted before it (a deleted deal's
  ``update_time`` is its delete time) and one without an ``add_time``;
- a deal's state (pipeline, stage, status) is the latest *observation* before the cutoff. The
  snapshot is one observation, valid from its own time (``won_time``/``lost_time`` for a closed
  deal, else ``stage_change_time``, else ``add_time``); each stage-history row is another. So a
  deal won after ``D`` counts as open in the stage the history places it in on ``D``;
- when nothing is known before the cutoff except that the deal existed, its stage is the
  ``from_stage_id`` of its first history row after the cutoff, else (no history at all) its
  current stage, open. ``state_from`` says which rule applied: ``snapshot``, ``history`` or
  ``approximate``;
- values, titles, owners and attribution fields are the current ones: the data location keeps no
  history of them.

:func:`stage_events` turns the same inputs into the per-deal sequence of stage entries and
closings that the funnel and the velocity are counted from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

import pandas as pd

from pipedrive_brevo import stage_history
from pipedrive_brevo.reporting.inputs import ReportInputs
from pipedrive_brevo.transform import records

CLOSED = ("won", "lost")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def cutoff_of(report_date: str | date) -> pd.Timestamp:
    """The end of ``report_date`` (UTC): the instant the report describes."""
    try:
        day = date.fromisoformat(str(report_date)) if _DATE.fullmatch(str(report_date)) else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"report_date must be a date YYYY-MM-DD, found {report_date!r}")
    return pd.Timestamp(day).tz_localize("UTC") + pd.Timedelta(days=1)


def _times(frame: pd.DataFrame, name: str) -> pd.Series:
    return records.timestamps(records.column(frame, name)).astype("datetime64[us, UTC]")


def _align(column: pd.Series, keys: pd.Series, index: pd.Index) -> pd.Series:
    """``column[key]`` for each key (NA where absent), on ``index``, keeping the column's dtype."""
    return column.reindex(keys.to_numpy()).set_axis(index)


def stage_table(stages: Iterable[dict]) -> pd.DataFrame:
    """Stages as a frame indexed by id: ``pipeline_id``, ``name``, ``order_nr``, ``deal_probability``."""
    frame = pd.DataFrame(list(stages))
    if not len(frame):
        return pd.DataFrame({"pipeline_id": pd.Series(dtype="Int64"), "name": pd.Series(dtype="string"),
                             "order_nr": pd.Series(dtype="Int64"), "deal_probability": pd.Series(dtype="Float64")},
                            index=pd.Index([], dtype="Int64", name="stage_id"))
    return pd.DataFrame({
        "pipeline_id": records.ids(records.column(frame, "pipeline_id")).to_numpy(),
        "name": records.column(frame, "name").astype("string").to_numpy(),
        "order_nr": records.ids(records.column(frame, "order_nr")).to_numpy(),
        "deal_probability": pd.to_numeric(records.column(frame, "deal_probability"), errors="coerce")
        .astype("Float64").to_numpy(),
    }, index=pd.Index(records.ids(frame["id"]), name="stage_id"))


def deals_as_of(inputs: ReportInputs, report_date: str | date, *,
                pipeline_ids: Iterable[int] = ()) -> pd.DataFrame:
    """One row per deal that existed at the end of ``report_date``, in its state then.

    Columns: ``deal_id``, ``pipeline_id``, ``stage_id``, ``status`` (open/won/lost as of the
    date), ``state_from``, ``add_time``, ``won_time``, ``lost_time``, ``close_time`` (null unless
    closed as of the date), ``stage_change_time``, ``value``, ``currency``, ``probability``
    (the deal's own, null when unset), ``title``, ``owner_id``, ``person_id``, ``org_id``,
    ``origin``, ``origin_id``, ``channel``, ``channel_id``, ``source_lead_id``, ``custom_fields``.
    ``pipeline_ids`` (``options.report.pipeline_ids``) keeps only deals in those pipelines.
    """
    cutoff = cutoff_of(report_date)
    deals = inputs.deals
    if not len(deals) or "id" not in deals:
        return _empty_deals()
    stages = stage_table(inputs.stages)
    status = records.column(deals, "status").astype("string").str.lower()
    add_time, update_time = _times(deals, "add_time"), _times(deals, "update_time")
    won_time, lost_time = _times(deals, "won_time"), _times(deals, "lost_time")
    close_time, stage_change = _times(deals, "close_time"), _times(deals, "stage_change_time")
    deleted = records.is_deleted(deals) | (status == "deleted").fillna(False)
    alive = (add_time < cutoff).fillna(False) & ~(deleted & (update_time < cutoff).fillna(True))

    closed_at = won_time.where(status != "lost", lost_time).fillna(close_time).fillna(update_time)
    observed = closed_at.where(status.isin(CLOSED).fillna(False), stage_change.fillna(add_time))
    view = pd.DataFrame({
        "deal_id": records.ids(deals["id"]),
        "snap_pipeline": records.ids(records.column(deals, "pipeline_id")),
        "snap_stage": records.ids(records.column(deals, "stage_id")),
        "snap_status": status.where(status.isin(("open", *CLOSED)).fillna(False), "open"),
        "observed": observed, "snap_closed_at": closed_at,
        "add_time": add_time, "stage_change_time": stage_change,
    })[alive.to_numpy()]
    view = view[view["deal_id"].notna()].drop_duplicates("deal_id", keep="last")

    history = stage_history.typed(inputs.history)
    history = history[history["deal_id"].isin(view["deal_id"].astype("int64"))]
    before = history[history["changed_at"] < cutoff].sort_values(["deal_id", "changed_at"], kind="stable")
    last = before.drop_duplicates("deal_id", keep="last").set_index("deal_id")
    after = history[history["changed_at"] >= cutoff].sort_values(["deal_id", "changed_at"], kind="stable")
    first_after = after.drop_duplicates("deal_id", keep="first").set_index("deal_id")

    keys = view["deal_id"].astype("int64")
    h_time = _align(last["changed_at"], keys, view.index)
    h_stage = _align(last["to_stage_id"], keys, view.index)
    h_status = _align(last["status"], keys, view.index)
    a_stage = _align(first_after["from_stage_id"], keys, view.index)

    snap_ok = (view["observed"] < cutoff).fillna(False) & (h_time.isna() | (view["observed"] >= h_time).fillna(False))
    from_history = ~snap_ok & h_time.notna()
    from_later = ~snap_ok & ~from_history & a_stage.notna()
    state_from = pd.Series("approximate", index=view.index, dtype="string")
    state_from[snap_ok] = "snapshot"
    state_from[from_history | from_later] = "history"

    stage_id = view["snap_stage"].copy()
    stage_id[from_history] = h_stage[from_history]
    stage_id[from_later] = a_stage[from_later]
    status_as_of = pd.Series("open", index=view.index, dtype="string")
    status_as_of[snap_ok] = view["snap_status"][snap_ok]
    status_as_of[from_history] = h_status[from_history].fillna("open")
    stage_pipeline = pd.Series(stages["pipeline_id"].reindex(stage_id).to_numpy(), index=view.index, dtype="Int64")
    pipeline_id = view["snap_pipeline"].where(snap_ok, stage_pipeline.fillna(view["snap_pipeline"]))

    closed_now = status_as_of.isin(CLOSED)
    close_at = view["snap_closed_at"].where(snap_ok, h_time).where(closed_now)
    source = deals.loc[view.index]
    out = pd.DataFrame({
        "deal_id": view["deal_id"], "pipeline_id": pipeline_id.astype("Int64"), "stage_id": stage_id.astype("Int64"),
        "status": status_as_of, "state_from": state_from,
        "add_time": view["add_time"],
        "won_time": close_at.where(status_as_of == "won"), "lost_time": close_at.where(status_as_of == "lost"),
        "close_time": close_at, "stage_change_time": view["stage_change_time"],
        "value": pd.to_numeric(records.column(source, "value"), errors="coerce").fillna(0.0).astype("float64"),
        "currency": records.column(source, "currency").astype("string").str.strip().str.upper(),
        "probability": pd.to_numeric(records.column(source, "probability"), errors="coerce").astype("Float64"),
        "title": records.column(source, "title").astype("string"),
        "owner_id": records.ids(records.column(source, "owner_id")),
        "person_id": records.ids(records.column(source, "person_id")),
        "org_id": records.ids(records.column(source, "org_id")),
        "origin": records.column(source, "origin").astype("string"),
        "origin_id": records.column(source, "origin_id").astype("string"),
        "channel": records.ids(records.column(source, "channel")),
        "channel_id": records.column(source, "channel_id").astype("string"),
        "source_lead_id": records.column(source, "source_lead_id").astype("string"),
        "custom_fields": records.column(source, "custom_fields"),
    })
    wanted = tuple(pipeline_ids)
    if wanted:
        out = out[out["pipeline_id"].isin(wanted).fillna(False).to_numpy()]
    return out.sort_values("deal_id", kind="stable").reset_index(drop=True)


def _empty_deals() -> pd.DataFrame:
    times = ("add_time", "won_time", "lost_time", "close_time", "stage_change_time")
    dtypes = {"deal_id": "Int64", "pipeline_id": "Int64", "stage_id": "Int64", "status": "string",
              "state_from": "string", **dict.fromkeys(times, "datetime64[us, UTC]"), "value": "float64",
              "currency": "string", "probability": "Float64", "title": "string", "owner_id": "Int64",
              "person_id": "Int64", "org_id": "Int64", "origin": "string", "origin_id": "string",
              "channel": "Int64", "channel_id": "string", "source_lead_id": "string", "custom_fields": "object"}
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()})


def stage_events(deals: pd.DataFrame, inputs: ReportInputs, report_date: str | date) -> pd.DataFrame:
    """Each deal's stage entries and closings up to the end of ``report_date``, in time order.

    ``deals`` is :func:`deals_as_of`'s frame. Columns: ``deal_id``, ``pipeline_id``, ``stage_id``,
    ``at`` and ``kind``: ``enter`` (a history row whose stage differs from the one before, or a
    deal's first row), ``won``/``lost`` (a closing), ``open`` (a reopening; it ends nothing).

    A deal whose history does not record how it entered its as-of stage gets one ``enter`` row
    for it: at ``stage_change_time`` when that lies in [add_time, cutoff), else at ``add_time``.
    A deal closed as of the date without a closing row gets one at its ``close_time``. Stages are
    placed in the pipeline the stages list gives them (a deal moved between pipelines leaves
    entries in both).
    """
    cutoff = cutoff_of(report_date)
    stages = stage_table(inputs.stages)
    history = stage_history.typed(inputs.history)
    history = history[(history["changed_at"] < cutoff) & history["deal_id"].isin(deals["deal_id"].astype("int64"))]
    history = history.sort_values(["deal_id", "changed_at"], kind="stable")
    moved = history["from_stage_id"].isna() | (history["from_stage_id"] != history["to_stage_id"]).fillna(True)
    is_closing = history["status"].isin(CLOSED).fillna(False)
    kind = pd.Series("open", index=history.index, dtype="string")
    kind[is_closing] = history["status"][is_closing]
    kind[moved] = "enter"
    rows = [pd.DataFrame({"deal_id": history["deal_id"].astype("Int64"), "stage_id": history["to_stage_id"],
                          "at": history["changed_at"], "kind": kind.astype("string"),
                          "order": 1})]
    # A deal moved into a stage and closed in one observation: the closing follows the entry.
    closing_with_move = moved & history["status"].isin(CLOSED).fillna(False)
    rows.append(pd.DataFrame({"deal_id": history["deal_id"].astype("Int64")[closing_with_move],
                              "stage_id": history["to_stage_id"][closing_with_move],
                              "at": history["changed_at"][closing_with_move],
                              "kind": history["status"][closing_with_move], "order": 2}))

    entered = rows[0][rows[0]["kind"] == "enter"]
    known = pd.MultiIndex.from_frame(entered[["deal_id", "stage_id"]].astype("Int64"))
    wanted = pd.MultiIndex.from_frame(deals[["deal_id", "stage_id"]].astype("Int64"))
    missing = deals[~wanted.isin(known) & deals["stage_id"].notna().to_numpy()]
    change = missing["stage_change_time"]
    usable = (change >= missing["add_time"]).fillna(False) & (change < cutoff).fillna(False)
    rows.append(pd.DataFrame({"deal_id": missing["deal_id"], "stage_id": missing["stage_id"],
                              "at": change.where(usable, missing["add_time"]), "kind": "enter", "order": 1}))

    closings = pd.concat([r[r["kind"].isin(CLOSED)] for r in rows], ignore_index=True)
    closed = deals[deals["status"].isin(CLOSED).to_numpy()]
    unrecorded = closed[~closed["deal_id"].isin(closings["deal_id"].dropna()).to_numpy()]
    rows.append(pd.DataFrame({"deal_id": unrecorded["deal_id"], "stage_id": unrecorded["stage_id"],
                              "at": unrecorded["close_time"].fillna(cutoff - pd.Timedelta(microseconds=1)),
                              "kind": unrecorded["status"], "order": 2}))

    events = pd.concat([r for r in rows if len(r)], ignore_index=True) if any(len(r) for r in rows) else rows[0]
    events["deal_id"] = events["deal_id"].astype("Int64")
    events["stage_id"] = events["stage_id"].astype("Int64")
    events["at"] = pd.to_datetime(events["at"], utc=True).astype("datetime64[us, UTC]")
    events["kind"] = events["kind"].astype("string")
    events["pipeline_id"] = pd.Series(stages["pipeline_id"].reindex(events["stage_id"]).to_numpy(),
                                      index=events.index, dtype="Int64")
    events = events.sort_values(["deal_id", "at", "order"], kind="stable").drop(columns="order")
    return events[["deal_id", "pipeline_id", "stage_id", "at", "kind"]].reset_index(drop=True)


def report_date_of_run(requested: str | None, *, interval_start: datetime | None,
                       interval_end: datetime | None, run_after: datetime | None = None) -> str:
    """The date a run reports on: ``requested`` (the ``report_date`` param) if given, else the
    last day the run's data interval covers (UTC).

    A daily run for the interval [D, D+1) — scheduled, made by ``airflow backfill create`` or
    triggered by hand (Airflow gives a manual run the last complete interval) — reports on ``D``,
    so a backfill from D1 to D2 makes the reports of D1..D2. A run whose interval is empty
    (start = end, as a trigger timetable gives) reports on the day of that instant.
    """
    if requested:
        cutoff_of(requested)  # refuses anything but YYYY-MM-DD
        return str(requested)
    end = interval_end or run_after
    if end is None:
        raise ValueError("a report run needs a report_date param or a data interval")
    end_ts = pd.Timestamp(end)
    end_ts = end_ts.tz_localize("UTC") if end_ts.tzinfo is None else end_ts.tz_convert("UTC")
    if interval_start is not None and pd.Timestamp(interval_start) < pd.Timestamp(end):
        end_ts -= pd.Timedelta(microseconds=1)
    return end_ts.strftime("%Y-%m-%d")
