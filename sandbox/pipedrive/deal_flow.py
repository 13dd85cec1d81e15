"""``GET /v1/deals/{id}/flow``: a deal's updates, derived from the deal as the account holds it.

The sandbox keeps no change log, so the flow is made up from what the deal record says, the way
Pipedrive would have logged it (``dealChange`` items, newest first, as the app shows the flow):

- the creation: ``field_key: add_time`` at ``add_time`` (the deal starts in the first stage of
  its pipeline when it later moved, else in its current stage);
- the stage changes: one ``field_key: stage_id`` per step through the pipeline's stages, in
  ``order_nr`` order, up to the current stage; their ``log_time``\\ s are spread evenly between
  ``add_time`` and ``stage_change_time``, the last one exactly at ``stage_change_time`` (a deal in
  the first stage that has a ``stage_change_time`` went to the second stage and came back);
- the close: ``field_key: status`` from ``open`` to ``won``/``lost`` at ``won_time``/``lost_time``.

Values are text, as v1 logs them (``"old_value": "1"``); times are v1's ``YYYY-MM-DD HH:MM:SS``
(UTC). Offset pages (``start``, ``limit`` <= 500, default 100), ``items`` filters by the item
``object``; ``all_changes`` changes nothing here (the sandbox logs no custom field changes).
The token cost (40) comes from the spec like every other operation's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.pipedrive import params, times
from sandbox.pipedrive.answers import entity_not_found, ok
from sandbox.server import Request, Response

if TYPE_CHECKING:
    from sandbox.pipedrive.app import PipedriveApp


def v1_time(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%d %H:%M:%S")


def _stage_path(deal: dict[str, Any], stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stages the deal went through, first to current (one stage when it never moved)."""
    ordered = sorted((s for s in stages if s.get("pipeline_id") == deal.get("pipeline_id")),
                     key=lambda s: (s.get("order_nr") or 0, s["id"]))
    position = next((i for i, s in enumerate(ordered) if s["id"] == deal.get("stage_id")), None)
    if position is None:
        return [{"id": deal.get("stage_id"), "name": None}]
    if not deal.get("stage_change_time"):
        return [ordered[position]]
    if position == 0:
        return ordered[:1] + ordered[1:2] + ordered[:1] if len(ordered) > 1 else ordered[:1]
    return ordered[:position + 1]


def flow_items(deal: dict[str, Any], stages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deal's ``dealChange`` items, newest first."""
    added = times.to_epoch(deal.get("add_time"))
    changes: list[tuple[float, str, Any, Any, dict[str, Any]]] = [
        (added, "add_time", None, v1_time(added), {})]
    path = _stage_path(deal, stages)
    if len(path) > 1:
        moved = times.to_epoch(deal.get("stage_change_time"))
        steps = len(path) - 1
        for i in range(1, len(path)):
            when = moved if i == steps else added + (moved - added) * i / steps
            changes.append((when, "stage_id", str(path[i - 1]["id"]), str(path[i]["id"]),
                            {"old_value_formatted": path[i - 1].get("name"),
                             "new_value_formatted": path[i].get("name")}))
    status = deal.get("status")
    if status in ("won", "lost"):
        closed = deal.get(f"{status}_time") or deal.get("close_time") or deal.get("update_time")
        changes.append((times.to_epoch(closed), "status", "open", status, {}))
    items = []
    for seq, (when, key, old, new, extra) in enumerate(changes, start=1):
        stamp = v1_time(when)
        items.append({"object": "dealChange", "timestamp": stamp, "data": {
            "id": deal["id"] * 1000 + seq, "item_id": deal["id"], "user_id": deal.get("owner_id"),
            "field_key": key, "old_value": old, "new_value": new, "is_bulk_update_flag": None,
            "log_time": stamp, "change_source": "app", "change_source_user_agent": None,
            "additional_data": extra}})
    items.sort(key=lambda item: (item["timestamp"], item["data"]["id"]), reverse=True)
    return items


def register(app: PipedriveApp) -> None:
    store = app.store

    @app.api("GET", "v1", "/deals/{id}/flow")
    def deal_flow(request: Request) -> Response:
        start, limit = params.start(request), params.limit(request)
        wanted = {name.strip() for name in (request.arg("items") or "").split(",") if name.strip()}
        try:
            deal_id = int(request.path_params["id"])
        except ValueError:
            return entity_not_found()
        with store.lock:
            deal = store.table("deals").get(deal_id)
            stages = list(store.table("stages").records.values())
        if deal is None:
            return entity_not_found()
        items = [item for item in flow_items(deal, stages) if not wanted or item["object"] in wanted]
        related = {"deal": {str(deal_id): {key: deal.get(key) for key in (
            "id", "title", "status", "value", "currency", "stage_id", "pipeline_id")}}}
        return ok(items[start:start + limit], {"start": start, "limit": limit,
                                               "more_items_in_collection": start + limit < len(items)},
                  related_objects=related)
