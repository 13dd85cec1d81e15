"""The sync state: what Brevo was last sent, kept under the data location between runs.

The plan is the desired state diffed against this (DESIGN, "diff, then send"), so it must say
exactly what Brevo accepted: the loader rewrites it after every batch Brevo accepted, and a task
killed at any point and retried re-plans from it and sends only what is still missing.

Files (``state/brevo/`` under the data location):

* ``contacts.parquet``: the contacts as last sent, in the contact shape of
  :mod:`pipedrive_brevo.transform.contacts` (``email``, ``ext_id``, one column per attribute,
  ``list_ids``).
* ``companies.parquet``: the companies as last sent (:mod:`pipedrive_brevo.transform.companies`
  columns) with ``brevo_id``, the Brevo company id (a company has no ext_id).
* ``outbox.parquet``: events made but not yet sent (the event columns of
  :mod:`pipedrive_brevo.transform.events` plus ``attempts``), written *before* the load so a
  failed run's events are sent by the next one.
* ``events_sent.parquet``: ``event_id`` of every event Brevo accepted (or may have recorded):
  an event id found here is never sent again.
* ``meta.json``: when the first sync ran (``events_since``: activities added before it are
  history, not events) and the run that last wrote the state.

Writes are atomic (:class:`~pipedrive_brevo.storage.DataLocation`), so a reader sees a whole
batch or none of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from pipedrive_brevo.storage import DataLocation
from pipedrive_brevo.transform.events import EVENT_COLUMNS, empty_events

CONTACTS = "state/brevo/contacts.parquet"
COMPANIES = "state/brevo/companies.parquet"
OUTBOX = "state/brevo/outbox.parquet"
EVENTS_SENT = "state/brevo/events_sent.parquet"
META = "state/brevo/meta.json"


def has_synced(store: DataLocation) -> bool:
    """Whether a sync ever planned against this data location (False: this is the first run)."""
    return store.exists(META)


def read_meta(store: DataLocation) -> dict[str, Any]:
    return store.read_json(META, default={}) or {}


def write_meta(store: DataLocation, **values: Any) -> None:
    store.write_json(META, {**read_meta(store), **values})


# ------------------------------------------------------------------------------------ contacts

def read_contacts(store: DataLocation) -> pd.DataFrame | None:
    """The contacts as Brevo last accepted them; None before the first accepted batch."""
    return store.read_parquet(CONTACTS) if store.exists(CONTACTS) else None


def write_contacts(store: DataLocation, contacts: pd.DataFrame) -> None:
    store.write_parquet(CONTACTS, storable(contacts))


def read_companies(store: DataLocation) -> pd.DataFrame | None:
    return store.read_parquet(COMPANIES) if store.exists(COMPANIES) else None


def write_companies(store: DataLocation, companies: pd.DataFrame) -> None:
    store.write_parquet(COMPANIES, storable(companies.reset_index(drop=True)))


def storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Tuples as lists (Parquet lists); an all-empty tuple column stays a list column."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: list(v) if isinstance(v, tuple) else v, na_action="ignore")
    return out


# -------------------------------------------------------------------------------------- events

def read_sent_event_ids(store: DataLocation) -> pd.Series:
    if not store.exists(EVENTS_SENT):
        return pd.Series(dtype="string", name="event_id")
    return store.read_parquet(EVENTS_SENT)["event_id"].astype("string")


def record_sent_events(store: DataLocation, event_ids: Iterable[str]) -> None:
    """Add ids to the sent set (and take them out of the outbox): they are never sent again."""
    new = pd.Series(list(event_ids), dtype="string", name="event_id")
    if not len(new):
        return
    sent = pd.concat([read_sent_event_ids(store), new], ignore_index=True).drop_duplicates()
    store.write_parquet(EVENTS_SENT, sent.to_frame())
    outbox = read_outbox(store)
    write_outbox(store, outbox[~outbox["event_id"].isin(new)])


def read_outbox(store: DataLocation) -> pd.DataFrame:
    if not store.exists(OUTBOX):
        return empty_events().assign(attempts=pd.Series(dtype="int64"))
    return store.read_parquet(OUTBOX)


def write_outbox(store: DataLocation, outbox: pd.DataFrame) -> None:
    store.write_parquet(OUTBOX, outbox.reset_index(drop=True))


def queue_events(store: DataLocation, events: pd.DataFrame) -> pd.DataFrame:
    """Put events not sent yet into the outbox (by ``event_id``: queued twice is queued once).

    Returns the outbox after the change. Called by the plan step, before anything is sent.
    """
    outbox = read_outbox(store)
    sent = read_sent_event_ids(store)
    fresh = events[~events["event_id"].isin(sent) & ~events["event_id"].isin(outbox["event_id"])]
    fresh = fresh[list(EVENT_COLUMNS)].drop_duplicates("event_id").assign(attempts=0)
    if len(fresh):
        outbox = pd.concat([outbox, fresh.astype({"attempts": "int64"})], ignore_index=True)
        write_outbox(store, outbox)
    return outbox
