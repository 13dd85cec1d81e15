"""The lease that keeps two runs from planning and loading over the shared sync state at once.

``pipedrive_to_brevo`` (hourly) and ``pipedrive_webhook_events`` (triggered by webhooks) both
turn the snapshots into a desired state and converge Brevo to it against ``state/brevo/``. Were
they to overlap, one run's load could diff an *older* desired state against a sync state the other
run just advanced and send the old values back (a rename undone, a contact moved back to a list).
So a run holds this lease from the start of its ``plan`` task until its ``load`` task is over (the
shared :class:`~pipedrive_brevo.operators.sync.SyncPlanOperator` and ``BrevoLoadOperator`` take and
give it back); the other DAG's plan waits for it. A ``load`` that will be retried keeps it: its
desired state is the run's, and another run must not advance the state in between.

The lease is one JSON file, ``state/brevo/lease.json``: ``holder`` (``<dag_id>/<run_id>``, so
every task and retry of one run holds it again without waiting for itself), ``acquired_at`` and
``expires_at``. An expired lease is free: a worker killed mid-load cannot block the other DAG for
longer than the time to live. Taking it is write-then-read-back: two takers racing both write,
only the one whose write is read back holds it (the data location's writes are atomic renames;
on object storage with read-after-write consistency the same holds).

The same mechanism, on a file per entity (:func:`snapshot_lock`), keeps the writers of one
snapshot from overwriting each other: the sync's merge, the webhook run's merge and the reverse
sync's person updates each read, change and write ``snapshots/<entity>.parquet`` whole, so two at
once would lose one's change.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipedrive_brevo.storage import DataLocation

LEASE = "state/brevo/lease.json"
DEFAULT_TTL = timedelta(hours=1)
SNAPSHOT_LOCK_TTL = timedelta(minutes=30)  # far above the merge of a million-record snapshot


class LeaseHeldError(RuntimeError):
    """Another run holds the lease (the message names it and when it expires)."""


@dataclass(frozen=True)
class Lease:
    holder: str
    acquired_at: datetime
    expires_at: datetime
    token: str

    def as_dict(self) -> dict[str, Any]:
        return {"holder": self.holder, "acquired_at": self.acquired_at.isoformat(),
                "expires_at": self.expires_at.isoformat(), "token": self.token}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lease:
        return cls(str(data["holder"]), datetime.fromisoformat(data["acquired_at"]),
                   datetime.fromisoformat(data["expires_at"]), str(data.get("token", "")))


def holder_of(dag_id: str, run_id: str) -> str:
    """The holder name of one DAG run: every task and retry of the run shares it."""
    return f"{dag_id}/{run_id}"


def current(store: DataLocation, *, now: datetime | None = None, path: str = LEASE) -> Lease | None:
    """The lease in force, or None when nobody holds it (or it expired)."""
    data = store.read_json(path)
    if not data:
        return None
    lease = Lease.from_dict(data)
    return lease if lease.expires_at > (now or datetime.now(UTC)) else None


def acquire(store: DataLocation, holder: str, *, ttl: timedelta = DEFAULT_TTL, now: datetime | None = None,
            path: str = LEASE) -> Lease:
    """Take (or, for the same holder, renew) the lease; :class:`LeaseHeldError` if another run holds it."""
    now = now or datetime.now(UTC)
    held = current(store, now=now, path=path)
    if held is not None and held.holder != holder:
        raise LeaseHeldError(f"{path} under the data location is leased to {held.holder} until "
                             f"{held.expires_at.isoformat()}")
    lease = Lease(holder, held.acquired_at if held else now, now + ttl, uuid.uuid4().hex)
    store.write_json(path, lease.as_dict())
    back = store.read_json(path) or {}
    if back.get("token") != lease.token:  # another taker wrote after us: it holds the lease
        raise LeaseHeldError(f"{path} under the data location was just leased to {back.get('holder')}")
    return lease


def wait_and_acquire(store: DataLocation, holder: str, *, ttl: timedelta = DEFAULT_TTL, timeout_s: float = 600.0,
                     poll_s: float = 2.0, log: Any = None, path: str = LEASE) -> Lease:
    """:func:`acquire`, waiting up to ``timeout_s`` for the other run to finish; then the error.

    A task that gives up fails and Airflow retries it later: the wait is bounded so that a worker
    slot is not held for the whole time to live of a stuck lease.
    """
    deadline = time.monotonic() + timeout_s
    logged = False
    while True:
        try:
            return acquire(store, holder, ttl=ttl, path=path)
        except LeaseHeldError as exc:
            if time.monotonic() >= deadline:
                raise
            if log is not None and not logged:
                log.info("Waiting for the lease: %s", exc)
                logged = True
            time.sleep(poll_s)


def release(store: DataLocation, holder: str, *, path: str = LEASE) -> bool:
    """Give the lease back if ``holder`` holds it; True when it did (another holder's is left alone)."""
    data = store.read_json(path)
    if not data or data.get("holder") != holder:
        return False
    store.delete(path)
    return True


def snapshot_lock_path(entity: str) -> str:
    return f"state/locks/snapshot-{entity}.json"


@contextmanager
def snapshot_lock(store: DataLocation, entity: str, *, timeout_s: float = 600.0, poll_s: float = 0.2) -> Iterator[None]:
    """Hold ``snapshots/<entity>.parquet`` for one read-change-write (see the module docstring).

    Each hold is its own holder, so two tasks of one run (or a task and its own retry's zombie)
    exclude each other too; a holder killed mid-write frees the lock when it expires.
    """
    holder, path = f"snapshot/{entity}/{uuid.uuid4().hex}", snapshot_lock_path(entity)
    wait_and_acquire(store, holder, ttl=SNAPSHOT_LOCK_TTL, timeout_s=timeout_s, poll_s=poll_s, path=path)
    try:
        yield
    finally:
        release(store, holder, path=path)


def final_try(context: Any) -> bool:
    """Whether the running task instance has no retry left (then a failure must free the lease)."""
    ti = context.get("ti") if hasattr(context, "get") else None
    task = context.get("task") if hasattr(context, "get") else None
    if ti is None or task is None:
        return True
    return int(getattr(ti, "try_number", 1) or 1) > int(getattr(task, "retries", 0) or 0)
