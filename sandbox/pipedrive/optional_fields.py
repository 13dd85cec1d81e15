"""Values of the opt-in fields a v2 list returns only when ``include_fields`` names them.

Counts are computed from the data, so a test can hand-build an account and know the answer: a
person's ``won_deals_count`` is the number of its deals (``person_id``) that are won and not
deleted (archived ones count: they are still the person's deals), ``activities_count`` the
number of its activities that are not deleted, and so on. Fields the sandbox cannot derive
(mail times, files, followers) come from the record when it has them, else ``0`` for a count and
``null`` for anything else.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sandbox.pipedrive.store import PipedriveStore

# How an entity's deals and activities point at it.
_LINK = {"persons": "person_id", "organizations": "org_id", "deals": "deal_id"}
_DEAL_COUNTS = {
    "open_deals_count": ("open",),
    "won_deals_count": ("won",),
    "lost_deals_count": ("lost",),
    "closed_deals_count": ("won", "lost"),
}
_ACTIVITY_FIELDS = ("activities_count", "done_activities_count", "undone_activities_count",
                    "next_activity_id", "last_activity_id")


def optional_values(store: PipedriveStore, entity: str, record: dict[str, Any],
                    names: list[str]) -> dict[str, Any]:
    """``{name: value}`` for the requested opt-in fields of one record (call under the store lock)."""
    link = _LINK.get(entity)
    deal_statuses: Counter[str] | None = None
    activities: dict[str, Any] | None = None
    values: dict[str, Any] = {}
    for name in names:
        if link and link != "deal_id" and name in _DEAL_COUNTS:
            if deal_statuses is None:
                deal_statuses = Counter(d.get("status") for d in store.table("deals").referencing(link, record["id"])
                                        if not d.get("is_deleted"))
            values[name] = sum(deal_statuses[s] for s in _DEAL_COUNTS[name])
        elif link and name in _ACTIVITY_FIELDS:
            if activities is None:
                activities = _activity_summary(store, link, record["id"])
            values[name] = activities[name]
        elif entity == "organizations" and name == "people_count":
            values[name] = sum(1 for p in store.table("persons").referencing("org_id", record["id"])
                               if not p.get("is_deleted"))
        elif entity == "deals" and name == "participants_count" and name not in record:
            values[name] = 1 if record.get("person_id") else 0
        elif entity == "deals" and name == "first_won_time" and name not in record:
            values[name] = record.get("won_time") if record.get("status") == "won" else None
        elif entity == "activities" and name == "attendees":
            values[name] = record.get("attendees") or []
        else:
            values[name] = record.get(name, 0 if name.endswith("_count") else None)
    return values


def _activity_summary(store: PipedriveStore, link: str, record_id: Any) -> dict[str, Any]:
    live = [a for a in store.table("activities").referencing(link, record_id) if not a.get("is_deleted")]
    done = [a for a in live if a.get("done")]
    undone = [a for a in live if not a.get("done")]

    def when(activity: dict[str, Any]) -> tuple[str, str, int]:
        return (activity.get("due_date") or "", activity.get("due_time") or "", activity["id"])

    return {
        "activities_count": len(live),
        "done_activities_count": len(done),
        "undone_activities_count": len(undone),
        "next_activity_id": min(undone, key=when)["id"] if undone else None,
        "last_activity_id": max(done, key=when)["id"] if done else None,
    }
