"""The plan step of a run: desired state, diffed against the sync state, written down.

:func:`plan_run` builds the desired state (:mod:`.desired_state`), makes Brevo's mapped lists the
truth on a first run or a full refresh (:func:`.transform.lists.mirror_memberships`), diffs
(:func:`.transform.plan.diff`), puts new events in the outbox (so they survive a failed load) and
writes what the run would send:

* ``runs/<run_id>/desired/contacts.parquet`` + ``meta.json``: what the loader converges Brevo to;
* ``runs/<run_id>/plan.parquet``: one row per operation (:data:`PLAN_COLUMNS`), for people;
* ``rejects/<run_id>.parquet``: every record or field not sent, with its reason (contract §6).

A dry run stops here: it writes the same files (and queues the events, which are Pipedrive
facts of this run that a later run must still send), but leaves the sync state as it was.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from pipedrive_brevo import stage_history, sync_state
from pipedrive_brevo.config import Mapping
from pipedrive_brevo.desired_state import build_desired
from pipedrive_brevo.storage import DataLocation, safe
from pipedrive_brevo.transform import lists
from pipedrive_brevo.transform.companies import changed_companies
from pipedrive_brevo.transform.plan import EXT_ID_ATTRIBUTE, Plan, diff, mirror_memberships, types_of

PLAN_COLUMNS: tuple[str, ...] = ("operation", "email", "ext_id", "list_id", "event_id", "detail")


def desired_path(run_id: str, name: str) -> str:
    return f"runs/{safe(run_id)}/desired/{name}"


def rejects_path(run_id: str) -> str:
    return f"rejects/{safe(run_id)}.parquet"


def plan_run(store: DataLocation, mapping: Mapping, run_id: str, *, brevo_attributes: dict[str, str] | None,
             members: pd.DataFrame | None, dry_run: bool, run_after: datetime,
             company_org_attribute: str | None = None, history_source: str = "sync") -> dict[str, Any]:
    """Plan this run (see the module docstring); returns the counts for the run summary.

    ``brevo_attributes``: the account's attribute name → type (None: unknown, a dry run that could
    not read them); ``members``: ``list_id``/``email`` of the mapped lists' members as Brevo holds
    them, given on a first run or a full refresh to mirror them; ``company_org_attribute``: the
    Brevo company attribute holding the organization id (None: companies are not sent);
    ``history_source``: the stage history's name for who observed this run's deal changes
    (``sync``, ``webhook``). The history is recorded in a dry run too: it records Pipedrive facts.
    """
    history = stage_history.record_run(store, run_id, source=history_source)
    first = not sync_state.has_synced(store)
    events_since = sync_state.read_meta(store).get("events_since") or run_after.isoformat()
    desired = build_desired(mapping, store, run_id, brevo_attributes=brevo_attributes,
                            events_since=events_since, deal_events=not first)
    types = types_of(desired.contacts)
    sent = sync_state.read_contacts(store)
    if members is not None:
        sent = mirror_memberships(sent, members, lists.mapped_lists(mapping), types)
        if not dry_run:
            sync_state.write_contacts(store, sent)
    plan = diff(desired.contacts, sent, deleted_ext_ids=desired.deleted_ext_ids,
                delete_behavior=mapping.options.delete_behavior, events=desired.events,
                sent_event_ids=sync_state.read_sent_event_ids(store))
    outbox = sync_state.queue_events(store, plan.events)
    if not dry_run:
        sync_state.write_meta(store, events_since=events_since, last_planned_run=run_id)

    store.write_parquet(desired_path(run_id, "contacts.parquet"), sync_state.storable(desired.contacts))
    store.write_parquet(desired_path(run_id, "companies.parquet"), sync_state.storable(desired.companies))
    companies = changed_companies(desired.companies, sync_state.read_companies(store))
    store.write_json(desired_path(run_id, "meta.json"), {"deleted_ext_ids": list(desired.deleted_ext_ids),
                                                         "types": types, "first_sync": first,
                                                         "mirrored": members is not None,
                                                         "company_org_attribute": company_org_attribute})
    store.write_parquet(f"runs/{safe(run_id)}/plan.parquet", plan_rows(plan, outbox))
    store.write_parquet(rejects_path(run_id), desired.rejects)

    counts = plan.summary()
    counts["events"] = len(outbox)
    counts["companies"] = len(companies)
    return {
        "persons": {k: int(v) for k, v in desired.persons["outcome"].value_counts().items()},
        "contacts_desired": len(desired.contacts),
        "plan": counts,
        "rejects": {str(k): int(v) for k, v in desired.rejects["reason"].value_counts().items()},
        "first_sync": first,
        "mirrored_lists": members is not None,
        "dry_run": dry_run,
        "stage_history_rows": history["rows"],
    }


def plan_rows(plan: Plan, events: pd.DataFrame) -> pd.DataFrame:
    """The plan as one row per operation, for people reading ``plan.parquet``.

    ``detail`` holds a create's or update's changed attributes as JSON (``{"FIRSTNAME": "Ada"}``;
    null means "clear it"), a removal's reason, an event's name.
    """
    upserts = plan.upserts
    operation = np.where(upserts["previous_email"].notna(), "rename", upserts["action"].astype(str))
    details = [json.dumps({name: _plain(row.get(name if name != EXT_ID_ATTRIBUTE else "ext_id"))
                           for name in (changed if changed is not None else ())}, sort_keys=True, default=str)
               for row, changed in zip(upserts.to_dict("records"), upserts["changed"], strict=True)]
    parts = [
        pd.DataFrame({"operation": operation, "email": upserts["email"], "ext_id": upserts["ext_id"],
                      "detail": details}),
        plan.list_adds.assign(operation="list_add"),
        plan.list_removes.assign(operation="list_remove"),
        pd.DataFrame({"operation": plan.removals["action"], "email": plan.removals["email"],
                      "ext_id": plan.removals["ext_id"], "detail": plan.removals["reason"]}),
        pd.DataFrame({"operation": "event", "email": events["email"], "ext_id": events["ext_id"],
                      "event_id": events["event_id"], "detail": events["event_name"]}),
    ]
    rows = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) \
        else pd.DataFrame(columns=list(PLAN_COLUMNS))
    out = pd.DataFrame({c: rows.get(c, pd.NA) for c in PLAN_COLUMNS})
    return out.astype({"operation": "string", "email": "string", "ext_id": "string", "list_id": "Int64",
                       "event_id": "string", "detail": "string"})


def _plain(value: Any) -> Any:
    """A JSON-able attribute value (tuples as lists, NA as null)."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return [str(v) for v in value]
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
