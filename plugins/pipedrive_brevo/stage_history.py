"""Stage history: every stage and status transition of a deal the product has observed.

The pipeline report (funnel entries, days in stage) needs to know when each deal entered each
stage. Pipedrive keeps that only in each deal's flow (one call of 40 tokens per deal), so the
product records what it sees instead: the sync's merge keeps the earlier version of each deal it
changed (``runs/<run_id>/previous/deals.parquet``), and the plan step compares it with the new
one (:func:`record_run`). The history grows by hourly observations and costs no API call; deals
older than the project are filled from the deal flow within a token budget (:mod:`.deal_flow`).

Layout: one Parquet file per run and source, ``state/stage_history/<source>-<run_id>.parquet``
(:func:`history_path`); a rerun of a run rewrites its own file, so nothing is counted twice.
:func:`read_history` reads them all and de-duplicates on ``(deal_id, to_stage_id, status,
changed_at)``: the same entry seen by the sync, a webhook and the deal flow is one row (the row
that knows where the deal came from is kept).

Columns (:data:`COLUMNS`): ``deal_id``, ``pipeline_id``, ``from_stage_id`` (null: unknown, the
first sight of the deal), ``to_stage_id``, ``status`` (the deal's status after the transition),
``changed_at`` (UTC), ``source`` (:data:`SOURCES`), ``run_id``.

What a row means:

- a deal first seen (no earlier version): it entered its current stage at ``stage_change_time``
  (else ``add_time``) while open; if it is won or lost, a second row closes it in that stage at
  ``won_time``/``lost_time``;
- a stage change: ``from`` the earlier stage ``to`` the new one at ``stage_change_time``;
- a status change (won, lost, reopened): ``from`` and ``to`` the deal's stage, at ``won_time`` /
  ``lost_time`` (reopened: ``update_time``).

Two moves within one sync interval are seen as one (the hourly sync sees states, not moves);
the deal flow, where filled, has each of them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipedrive_brevo.snapshots import records_frame
from pipedrive_brevo.storage import DataLocation, safe
from pipedrive_brevo.transform import records

HISTORY_PREFIX = "state/stage_history/"
SOURCES: tuple[str, ...] = ("sync", "deal_flow", "webhook")
STATUSES: tuple[str, ...] = ("open", "won", "lost")
COLUMNS: dict[str, str] = {
    "deal_id": "int64", "pipeline_id": "Int64", "from_stage_id": "Int64", "to_stage_id": "Int64",
    "status": "string", "changed_at": "datetime64[us, UTC]", "source": "string", "run_id": "string",
}
KEY: list[str] = ["deal_id", "to_stage_id", "status", "changed_at"]
_TIMES = ("stage_change_time", "won_time", "lost_time", "update_time", "add_time")


def history_path(source: str, run_id: str) -> str:
    """Where one run's rows of one source live."""
    return f"{HISTORY_PREFIX}{source}-{safe(run_id)}.parquet"


def empty() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in COLUMNS.items()})


def typed(rows: pd.DataFrame | None) -> pd.DataFrame:
    """``rows`` with exactly :data:`COLUMNS` in their dtypes (missing ones null; times given as text
    may mix ISO 8601 forms: Pipedrive's ``...Z``, v1's ``YYYY-MM-DD HH:MM:SS``, offsets)."""
    if rows is None or not len(rows):
        return empty()
    out = pd.DataFrame(index=rows.index)
    for name, dtype in COLUMNS.items():
        if name not in rows:
            out[name] = pd.Series(index=rows.index, dtype=dtype)
        elif name == "changed_at":
            out[name] = pd.to_datetime(rows[name], utc=True, format="ISO8601").astype(dtype)
        else:
            out[name] = rows[name].astype(dtype)
    return out.reset_index(drop=True)


def _deal_view(frame: pd.DataFrame | None) -> pd.DataFrame:
    """The fields a transition needs, one row per live deal (the last version of an id wins)."""
    if frame is None or not len(frame):
        return pd.DataFrame({"id": pd.Series(dtype="Int64")})
    live = frame[~records.is_deleted(frame).to_numpy()]
    status = records.column(live, "status").astype("string")
    live = live[(status != "deleted").fillna(True).to_numpy()]
    view = pd.DataFrame({
        "id": records.ids(records.column(live, "id")),
        "pipeline_id": records.ids(records.column(live, "pipeline_id")),
        "stage_id": records.ids(records.column(live, "stage_id")),
        "status": records.column(live, "status").astype("string"),
        **{name: records.timestamps(records.column(live, name)) for name in _TIMES},
    })
    view = view[view["id"].notna()]
    return view.drop_duplicates("id", keep="last").reset_index(drop=True)


def _closed_at(view: pd.DataFrame) -> pd.Series:
    """When a deal reached its status: won/lost time, else (reopened, or no time) its update time."""
    when = view["update_time"].copy()
    won, lost = (view["status"] == "won").fillna(False), (view["status"] == "lost").fillna(False)
    when[won] = view.loc[won, "won_time"].fillna(view.loc[won, "update_time"])
    when[lost] = view.loc[lost, "lost_time"].fillna(view.loc[lost, "update_time"])
    return when


def _rows(view: pd.DataFrame, mask: pd.Series, from_stage: pd.Series, status: pd.Series | str,
          changed_at: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"deal_id": view["id"], "pipeline_id": view["pipeline_id"], "from_stage_id": from_stage,
                          "to_stage_id": view["stage_id"], "status": status, "changed_at": changed_at})
    return frame[mask.to_numpy()]


def transitions(previous: pd.DataFrame | None, current: pd.DataFrame) -> pd.DataFrame:
    """The transitions from ``previous`` to ``current`` deal records (API shape, v2 or v1 keys).

    Pure. A deal of ``current`` absent from ``previous`` is a first sight; deleted deals are left
    out (a delete is not a pipeline move). ``source`` and ``run_id`` are null: :func:`append`
    sets them. Sorted by ``deal_id``, ``changed_at``.
    """
    now = _deal_view(current)
    if not len(now):
        return empty()
    before = _deal_view(previous).set_index("id")
    seen = now["id"].isin(before.index)
    prev_stage = now["id"].map(before["stage_id"]).astype("Int64") if len(before) else \
        pd.Series(pd.NA, index=now.index, dtype="Int64")
    prev_status = now["id"].map(before["status"]).astype("string") if len(before) else \
        pd.Series(pd.NA, index=now.index, dtype="string")
    closed = now["status"].isin(["won", "lost"])
    first = ~seen
    moved = seen & (now["stage_id"] != prev_stage).fillna(False)
    status_changed = seen & (now["status"] != prev_status).fillna(False)
    entered_at = now["stage_change_time"].fillna(now["add_time"]).fillna(now["update_time"])
    parts = [
        _rows(now, first, pd.Series(pd.NA, index=now.index, dtype="Int64"), "open", entered_at),
        _rows(now, first & closed, now["stage_id"], now["status"], _closed_at(now)),
        _rows(now, moved, prev_stage, prev_status.where(status_changed, now["status"]),
              now["stage_change_time"].fillna(now["update_time"])),
        _rows(now, status_changed, now["stage_id"], now["status"], _closed_at(now)),
    ]
    rows = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else empty()
    rows = rows[rows["to_stage_id"].notna() & rows["changed_at"].notna()]
    return _sorted(typed(rows))


def _sorted(rows: pd.DataFrame) -> pd.DataFrame:
    """By deal and time; at one instant the stage entry (open) before the close."""
    order = (rows["status"] != "open").fillna(True).astype(int)
    return (rows.assign(_order=order).sort_values(["deal_id", "changed_at", "_order"], kind="stable")
            .drop(columns="_order").reset_index(drop=True))


def append(store: DataLocation, rows: pd.DataFrame, *, run_id: str, source: str) -> str | None:
    """Write a run's rows to ``state/stage_history/<source>-<run_id>.parquet`` (atomically).

    A rerun of the run replaces its file. No rows: nothing written (None), an earlier file of the
    run kept.
    """
    if source not in SOURCES:
        raise ValueError(f"stage history source {source!r} is not one of {', '.join(SOURCES)}")
    if not len(rows):
        return None
    out = typed(rows.assign(source=source, run_id=run_id))
    path = history_path(source, run_id)
    store.write_parquet(path, out)
    return path


def _files(store: DataLocation) -> list[str]:
    return store.list(HISTORY_PREFIX, suffix=".parquet")


def read_history(store: DataLocation) -> pd.DataFrame:
    """Every observed transition, one row per ``(deal_id, to_stage_id, status, changed_at)``.

    Where several sources saw one transition, the row that knows ``from_stage_id`` is kept.
    """
    frames = [typed(store.read_parquet(path)) for path in _files(store)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty()
    return _sorted(_dedupe(pd.concat(frames, ignore_index=True)))


def _dedupe(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per :data:`KEY`: the one that knows ``from_stage_id`` (else the first)."""
    rows = rows.sort_values("from_stage_id", kind="stable", na_position="last")
    return rows.drop_duplicates(KEY, keep="first")


def known_deal_ids(store: DataLocation, *, exclude: str | None = None) -> set[int]:
    """The deals with at least one history row (files other than ``exclude``)."""
    known: set[int] = set()
    for path in _files(store):
        if path != exclude:
            known.update(int(v) for v in store.read_parquet(path, columns=["deal_id"])["deal_id"])
    return known


def record_run(store: DataLocation, run_id: str, *, source: str = "sync") -> dict[str, Any]:
    """Append the transitions a sync (or webhook) run observed; returns ``{"rows", "path"}``.

    Compares the deals the run's merge changed (their earlier versions in
    ``runs/<run_id>/previous/deals.parquet``) with the snapshot, and gives every deal the history
    does not know yet a first-sight row (the first sync: all of them). A run that merged no deals
    records nothing. The run's own earlier file is ignored when deciding what is known, so a
    rerun writes the same rows again.
    """
    previous_path = f"runs/{safe(run_id)}/previous/deals.parquet"
    snapshot_path = "snapshots/deals.parquet"
    if not store.exists(previous_path) or not store.exists(snapshot_path):
        return {"rows": 0, "path": None}
    previous = records_frame(store.read_parquet(previous_path))
    snapshot = store.read_parquet(snapshot_path)
    known = {str(i) for i in known_deal_ids(store, exclude=history_path(source, run_id))}
    changed = set(previous["id"].astype(str)) if len(previous) else set()
    ids = snapshot["id"].astype(str)
    wanted = (ids.isin(changed) | ~ids.isin(known)) & ~snapshot["is_deleted"].astype(bool)
    current = records_frame(snapshot[wanted.to_numpy()]) if wanted.any() else pd.DataFrame()
    unknown_before = previous[~previous["id"].astype(str).isin(known)] if len(previous) else None
    rows = pd.concat([transitions(None, unknown_before), transitions(previous if len(previous) else None, current)],
                     ignore_index=True)
    rows = _sorted(_dedupe(rows))
    path = append(store, rows, run_id=run_id, source=source)
    return {"rows": len(rows) if path else 0, "path": path}
