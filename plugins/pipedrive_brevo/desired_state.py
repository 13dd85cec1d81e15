"""The desired Brevo state of one run, built from the snapshots by the transform functions.

This module only gathers what the transforms take (snapshots, reference data, the Brevo
attribute types) and calls them in order; every rule lives in :mod:`pipedrive_brevo.transform`.
It is the "transform" arrow of DESIGN's picture as one function a test can call without Airflow.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipedrive_brevo.config import Mapping, resolve_custom_fields
from pipedrive_brevo.snapshots import records_frame
from pipedrive_brevo.storage import DataLocation, safe
from pipedrive_brevo.transform import events as event_rules
from pipedrive_brevo.transform import records, rejects
from pipedrive_brevo.transform.companies import build_companies
from pipedrive_brevo.transform.contacts import build_contacts
from pipedrive_brevo.transform.fields import AttributeSpec, attribute_specs


@dataclass(frozen=True)
class Desired:
    """What Brevo should hold after this run, and what could not be sent."""

    contacts: pd.DataFrame  # the contact shape (transform.contacts)
    persons: pd.DataFrame  # every person's outcome (sent, merged, rejected, deleted)
    events: pd.DataFrame  # every event this run's snapshots imply (sent ones included)
    companies: pd.DataFrame  # organizations as Brevo companies (transform.companies)
    rejects: pd.DataFrame
    deleted_ext_ids: tuple[str, ...]  # persons deleted in Pipedrive
    specs: tuple[AttributeSpec, ...]


def reference(store: DataLocation, name: str) -> list[dict[str, Any]]:
    """One reference list (``person_fields``, ``stages``, ...) as the reference task stored it."""
    return store.read_json(f"snapshots/reference/{name}.json", default=[]) or []


def snapshot_records(store: DataLocation, entity: str) -> pd.DataFrame | None:
    """An entity's snapshot as API records (deleted ones included, flagged); None if never extracted."""
    path = f"snapshots/{entity}.parquet"
    if not store.exists(path):
        return None
    snapshot = store.read_parquet(path)
    frame = records_frame(snapshot)
    if len(frame):  # the reconcile scan marks deletes in the stored row, not always in the record
        frame["is_deleted"] = snapshot["is_deleted"].to_numpy() | _flag(frame.get("is_deleted"))
    return frame


def _flag(column: pd.Series | None) -> Any:
    if column is None:
        return False
    return column.map(lambda v: v is True, na_action="ignore").fillna(False).astype(bool).to_numpy()


def _deals_to_compare(deals: pd.DataFrame, previous: pd.DataFrame, events_since: str | None) -> pd.DataFrame:
    """The deals whose change this run may be an event: those the merge changed (their earlier
    version is in ``previous``) and those added since the first sync (a new deal already closed).

    Every other deal is unchanged; handed to :func:`.transform.events.deal_events` it would look
    new, and a deal won years ago would become a ``deal_won`` now.
    """
    changed = records.ids(records.column(previous, "id")) if len(previous) else pd.Series(dtype="Int64")
    keep = records.ids(records.column(deals, "id")).isin(changed.dropna()).to_numpy()
    if events_since is not None:
        added = records.timestamps(records.column(deals, "add_time"))
        keep |= (added >= pd.Timestamp(events_since)).fillna(False).to_numpy()
    return deals[keep]


def specs_for(mapping: Mapping, store: DataLocation,
              brevo_attributes: MappingType[str, str] | None) -> tuple[AttributeSpec, ...]:
    """Every mapped attribute's spec for this account (custom fields resolved, Brevo types read)."""
    person_fields = reference(store, "person_fields")
    resolved = resolve_custom_fields(mapping, person_fields)
    return attribute_specs(resolved, brevo_attributes, person_fields=person_fields,
                           organization_fields=reference(store, "organization_fields"))


def build_desired(mapping: Mapping, store: DataLocation, run_id: str, *,
                  brevo_attributes: MappingType[str, str] | None, events_since: str | None,
                  deal_events: bool) -> Desired:
    """The desired contacts and events from the snapshots (see :mod:`.transform` for the rules).

    ``events_since``: activities added before it are history, not events (the first sync's
    start). ``deal_events``: False on the first sync, when there is no earlier deal state to
    compare with (every deal ever closed would otherwise become an event).
    """
    specs = specs_for(mapping, store, brevo_attributes)
    persons = snapshot_records(store, "persons")
    if persons is None:
        persons = pd.DataFrame({"id": pd.Series(dtype="int64")})
    deals = snapshot_records(store, "deals")
    users = pd.DataFrame(reference(store, "users"))
    organizations = snapshot_records(store, "organizations")
    build = build_contacts(mapping, specs, persons, deals=deals, leads=snapshot_records(store, "leads"),
                           organizations=organizations, users=users)
    companies, company_rejects = build_companies(organizations, persons, build.persons,
                                                 organization_fields=reference(store, "organization_fields"))

    names = event_rules.event_names(mapping.webhooks)
    found, problems = [], [build.rejects, company_rejects]
    activities, activity_rejects = event_rules.activity_events(snapshot_records(store, "activities"), build.persons,
                                                               names, since=events_since)
    found.append(activities)
    problems.append(activity_rejects)
    previous_path = f"runs/{safe(run_id)}/previous/deals.parquet"
    if deal_events and deals is not None and store.exists(previous_path):
        previous = records_frame(store.read_parquet(previous_path))
        moved, deal_rejects = event_rules.deal_events(
            _deals_to_compare(deals, previous, events_since), previous, build.persons, names,
            stages=pd.DataFrame(reference(store, "stages")), pipelines=pd.DataFrame(reference(store, "pipelines")))
        found.append(moved)
        problems.append(deal_rejects)
    events = pd.concat([f for f in found if len(f)], ignore_index=True) if any(len(f) for f in found) \
        else event_rules.empty_events()
    deleted = build.persons.loc[build.persons["outcome"] == "deleted", "person_id"].astype("string")
    return Desired(build.contacts, build.persons, events, companies, rejects.concat(problems),
                   tuple(deleted.dropna().tolist()), build.specs)
