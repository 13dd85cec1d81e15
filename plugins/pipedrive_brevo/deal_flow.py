"""Fill the stage history of deals older than the project from Pipedrive's deal flow, within a budget.

The sync records every stage change it observes (:mod:`.stage_history`), but of a deal that
existed before the product's first sync it knows only the stage it was first seen in. Pipedrive
keeps each deal's past in its flow (``GET /v1/deals/{id}/flow``: ``dealChange`` items with
``field_key`` ``stage_id``/``status``, ``old_value``, ``new_value``, ``log_time``), at 40 tokens a
page, so per deal: 10,000 old deals would cost 400,000 tokens, more than most accounts' daily
budget. :func:`fill_history` therefore spends at most ``token_budget`` tokens a run
(``options.report.deal_flow_budget``), stops cleanly when the next call would overspend, and the
next run resumes where it stopped.

Which deals, in what order (:func:`candidates`):

- deals in the snapshot, not deleted, added before the project's first sync (the sync's
  ``events_since``; before any sync: all), not filled yet (``state/deal_flow/filled.json``), and
  that have a ``stage_change_time``: a deal that never moved is fully described by its first-sight
  row already (created in its stage, closed at its won/lost time), so its flow would cost tokens
  and add nothing;
- open deals first, oldest first: they are the current funnel, and the older a deal the more of
  its path the sync missed; then closed deals, most recently closed first: recent cohorts are
  what win rates and cycle times are read for.

A deal is marked filled only after its rows are written (a crash in between costs a re-fetch,
never a lost row; the history de-duplicates). A deal Pipedrive no longer has (404) is marked
filled with no rows. Rows go to ``state/stage_history/deal_flow-<run_id>.parquet``; a retry of
the run keeps the rows its earlier attempt wrote.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from pipedrive_brevo import stage_history, sync_state
from pipedrive_brevo.hooks.pipedrive_endpoints import ENDPOINTS
from pipedrive_brevo.http import BudgetExhaustedError, NotFoundError
from pipedrive_brevo.snapshots import records_frame
from pipedrive_brevo.storage import DataLocation
from pipedrive_brevo.transform import records

log = logging.getLogger(__name__)

FILLED_PATH = "state/deal_flow/filled.json"
SOURCE = "deal_flow"
TOKENS_PER_PAGE = ENDPOINTS["deal_flow"].cost


def flow_transitions(deal: Mapping[str, Any], items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A deal's stage and status transitions from its flow items (any order). Pure.

    The deal starts, at its ``add_time``, open in the stage its first stage change left (else its
    current stage); each ``stage_id`` change moves it, each ``status`` change opens or closes it
    where it is. Other changes (value, owner, custom fields) are not transitions.
    """
    changes = sorted((dict(item.get("data") or {}) for item in items if item.get("object") == "dealChange"),
                     key=lambda c: (str(c.get("log_time") or ""), c.get("id") or 0))
    changes = [c for c in changes if c.get("field_key") in ("stage_id", "status") and c.get("log_time")]
    stage_moves = [c for c in changes if c["field_key"] == "stage_id"]
    stage = _int(stage_moves[0].get("old_value")) if stage_moves else _int(deal.get("stage_id"))
    status = "open"
    rows: list[tuple[Any, ...]] = [(None, stage, status, deal.get("add_time"))]
    for change in changes:
        if change["field_key"] == "stage_id":
            new = _int(change.get("new_value"))
            rows.append((_int(change.get("old_value")), new, status, change["log_time"]))
            stage = new
        elif str(change.get("new_value")) in stage_history.STATUSES:
            status = str(change["new_value"])
            rows.append((stage, stage, status, change["log_time"]))
    frame = pd.DataFrame(rows, columns=["from_stage_id", "to_stage_id", "status", "changed_at"])
    frame["changed_at"] = records.timestamps(frame["changed_at"])
    frame["deal_id"] = int(deal["id"])
    frame["pipeline_id"] = _int(deal.get("pipeline_id"))
    frame = frame[frame["to_stage_id"].notna() & frame["changed_at"].notna()]
    return stage_history.typed(frame)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def read_filled(store: DataLocation) -> set[int]:
    return {int(i) for i in store.read_json(FILLED_PATH, default={}).get("deal_ids", [])}


def _write_filled(store: DataLocation, filled: set[int]) -> None:
    store.write_json(FILLED_PATH, {"deal_ids": sorted(filled)})


def candidates(deals: pd.DataFrame, *, project_start: pd.Timestamp, filled: set[int]) -> list[dict[str, Any]]:
    """The deals worth a flow call, in the order to fill them (see the module docstring)."""
    if not len(deals):
        return []
    live = deals[~records.is_deleted(deals).to_numpy()]
    ids = records.ids(records.column(live, "id"))
    added = records.timestamps(records.column(live, "add_time"))
    moved = records.timestamps(records.column(live, "stage_change_time"))
    status = records.column(live, "status").astype("string")
    closed_at = records.timestamps(records.column(live, "won_time")).fillna(
        records.timestamps(records.column(live, "lost_time"))).fillna(
        records.timestamps(records.column(live, "update_time")))
    keep = (ids.notna() & ~ids.isin(list(filled)) & (added < project_start).fillna(False) & moved.notna()
            & status.isin(list(stage_history.STATUSES)).fillna(False)).to_numpy()
    order = pd.DataFrame({"position": range(len(live)), "open": (status == "open").fillna(False).to_numpy(),
                          "added": added.to_numpy(), "closed_at": closed_at.to_numpy(), "id": ids.to_numpy()})[keep]
    opened = order[order["open"]].sort_values(["added", "id"], kind="stable")
    closed = order[~order["open"]].sort_values(["closed_at", "id"], ascending=[False, True], kind="stable")
    rows = live.to_dict("records")
    return [rows[p] for p in list(opened["position"]) + list(closed["position"])]


def fill_history(hook: Any, store: DataLocation, run_id: str, *, token_budget: int) -> dict[str, Any]:
    """Fetch deal flows for the next :func:`candidates` while ``token_budget`` allows; append their rows.

    Returns the figures for the run summary: ``candidates`` (before this run), ``filled``,
    ``rows``, ``tokens`` (spent by this run's flow calls), ``remaining`` and ``stopped``
    (``None`` when every candidate was filled, ``"budget"`` when the next call would have
    overspent, ``"pipedrive_budget"`` when Pipedrive's daily budget ran out).
    """
    result: dict[str, Any] = {"candidates": 0, "filled": 0, "rows": 0, "tokens": 0, "remaining": 0,
                              "stopped": None, "budget": int(token_budget), "path": None}
    if token_budget <= 0 or not store.exists("snapshots/deals.parquet"):
        return result
    deals = records_frame(store.read_parquet("snapshots/deals.parquet"))
    since = sync_state.read_meta(store).get("events_since")
    project_start = pd.Timestamp(since) if since else pd.Timestamp.now(tz="UTC")
    if project_start.tzinfo is None:
        project_start = project_start.tz_localize("UTC")
    filled = read_filled(store)
    todo = candidates(deals, project_start=project_start, filled=filled)
    result["candidates"] = len(todo)
    path = stage_history.history_path(SOURCE, run_id)
    found: list[pd.DataFrame] = [store.read_parquet(path)] if store.exists(path) else []
    newly: set[int] = set()
    spent = 0
    try:
        for deal in todo:
            items: list[dict[str, Any]] = []
            pages = hook.iter_deal_flow(int(deal["id"]))
            complete = False
            try:
                while True:
                    if spent + TOKENS_PER_PAGE > token_budget:
                        result["stopped"] = "budget"
                        break
                    spent += TOKENS_PER_PAGE
                    page = next(pages, None)
                    if page is None:
                        spent -= TOKENS_PER_PAGE  # the iterator ended without a call
                        complete = True
                        break
                    items.extend(page.items)
                    if page.next_start is None:
                        complete = True
                        break
            except NotFoundError:
                complete, items = True, []
            except BudgetExhaustedError:  # refused with a 429, which costs nothing
                spent -= TOKENS_PER_PAGE
                result["stopped"] = "pipedrive_budget"
            finally:
                close = getattr(pages, "close", None)
                if close is not None:
                    close()
            if not complete:
                break
            if items:
                found.append(flow_transitions(deal, items))
            newly.add(int(deal["id"]))
    finally:
        result["tokens"] = spent
        result["filled"] = len(newly)
        result["remaining"] = len(todo) - len(newly)
        frames = [f for f in found if len(f)]
        if frames:
            rows = pd.concat(frames, ignore_index=True).drop_duplicates(stage_history.KEY, keep="last")
            result["path"] = stage_history.append(store, rows, run_id=run_id, source=SOURCE)
            result["rows"] = len(rows)
        if newly:
            _write_filled(store, filled | newly)
    log.info("Deal flows: filled %d of %d deals (%d tokens of %d), %d left%s", result["filled"],
             result["candidates"], spent, token_budget, result["remaining"],
             f", stopped: {result['stopped']}" if result["stopped"] else "")
    return result
