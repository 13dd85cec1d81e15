"""Event-to-Brevo latency of the webhook path: a change in Pipedrive until Brevo shows it.

    python -m bench.bench_webhooks [--persons 2000] [--singles 20] [--burst 200]

Serves a generated account from the Pipedrive sandbox and an empty Brevo account, runs a first
sync (the DAG's tasks, without Airflow: bench.bench_sync.sync_run), registers the mapping's
webhooks (webhook_registration) pointing at the project's receiver (served by uvicorn on
loopback), and then runs what ``pipedrive_webhook_events`` runs, without the scheduler: a processor
thread that, whenever events are pending, applies them (webhook_apply), prepares, plans and loads
(planning.plan_run, load.load_run) under the sync-state lease and marks them applied.

Measured from the admin call that changes the record in the Pipedrive sandbox to the moment the
Brevo sandbox answers with the change (the contact's new FIRSTNAME, or the ``deal_stage_changed``
event): the sandbox's webhook delivery, the receiver's store, the processing and the load.

1. **single**: one change at a time (persons renamed and deals moved, alternately), each waited for;
2. **burst**: ``--burst`` persons renamed in one go (one delivery each), processed as they arrive.

Not included: Airflow's own delay between the receiver's trigger and the task starting (the
scheduler loop, a worker slot: typically 1-5 s, see the README). The hourly schedule's latency for
comparison: a change waits for the next run (30 min on average, 57 min at p95) plus the run itself.
Last lines: median and p95 per scenario and the ratios against the hourly schedule.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.bench_sync import admin, sync_run

USER, PASSWORD = "bench-hooks", "bench-webhook-password"
HOUR_S = 3600.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Processor:
    """What pipedrive_webhook_events does, in a loop: run whenever events are pending."""

    def __init__(self, store: Any, mapping: Any):
        from pipedrive_brevo.hooks.brevo import BrevoHook
        from pipedrive_brevo.hooks.pipedrive import PipedriveHook

        self.store, self.mapping = store, mapping
        self.pipedrive, self.brevo = PipedriveHook(), BrevoHook()
        self.runs: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        try:
            while not self.stop.is_set():
                if not self.run_once():
                    time.sleep(0.01)
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def run_once(self) -> bool:
        from pipedrive_brevo import brevo_setup, sync_lease, webhook_store
        from pipedrive_brevo.load import load_run
        from pipedrive_brevo.planning import plan_run
        from pipedrive_brevo.webhook_apply import apply_events, forget_carried_deals, keys_to_mark, take_batch

        pending = webhook_store.pending_events(self.store, "pipedrive")
        if not pending:
            return False
        started = time.perf_counter()
        phases: dict[str, float] = {}
        run_id = f"webhooks_{len(self.runs):05d}"
        keys = take_batch(self.store, run_id, pending)
        holder = sync_lease.holder_of("pipedrive_webhook_events", run_id)
        sync_lease.acquire(self.store, holder)
        applied = apply_events(self.pipedrive, self.store, pending, run_id)
        sync_lease.release(self.store, holder)
        phases["apply"] = time.perf_counter() - started
        types = brevo_setup.attribute_types(self.brevo.get_attributes())  # the prepare task's reads
        sync_lease.acquire(self.store, holder)
        mark = time.perf_counter()
        plan = plan_run(self.store, self.mapping, run_id, brevo_attributes=types, members=None, dry_run=False,
                        run_after=datetime.now(UTC), company_org_attribute="pipedrive_org_id",
                        history_source="webhook")
        phases["plan"] = time.perf_counter() - mark
        mark = time.perf_counter()
        load_run(self.brevo, self.store, self.mapping, run_id)
        phases["load"] = time.perf_counter() - mark
        sync_lease.release(self.store, holder)
        marked, held_back = keys_to_mark(self.store, run_id, keys)
        webhook_store.mark_applied(self.store, "pipedrive", marked)
        if not held_back:
            forget_carried_deals(self.store)
        self.runs.append({"events": len(keys), "started": started, "seconds": time.perf_counter() - started,
                          "phases": phases, "plan": plan["plan"], "applied": applied["counts"]})
        return True


def serve_receiver(store: Any) -> tuple[str, Any]:
    import uvicorn

    from pipedrive_brevo.webhooks.receivers import CachedSecrets, Secret, create_pipedrive_app

    app = create_pipedrive_app(store=store, secrets=CachedSecrets(lambda _: Secret(USER, PASSWORD)),
                               trigger=lambda dag_id: None)  # the processor loop stands for the trigger
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}/webhooks", server


def wait_until(check: Any, timeout: float = 120.0, poll: float = 0.01) -> float:
    """Poll ``check()`` until true; returns the perf_counter time it became true."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if check():
            return time.perf_counter()
        time.sleep(poll)
    raise TimeoutError("the change did not reach Brevo in time")


def first_name(brevo: Any, ext_id: int) -> str | None:
    """The FIRSTNAME Brevo holds for a contact, read from the in-process sandbox's state (no HTTP
    round trip of the whole account competing with the pipeline for the CPU)."""
    account = brevo.account
    with account.lock:
        contact = account.by_identifier("ext_id", str(ext_id))
        return contact.attributes.get("FIRSTNAME") if contact is not None else None


def stage_events(brevo: Any) -> set[int]:
    return {e.dump()["event_properties"]["deal_id"] for e in brevo.events.all()
            if e.dump()["event_name"] == "deal_stage_changed"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args(argv)

    from sandbox.brevo import BrevoConfig
    from sandbox.brevo import create_app as create_brevo
    from sandbox.brevo.config import DEFAULT_API_KEY
    from sandbox.generator import generate_account
    from sandbox.pipedrive import PipedriveConfig
    from sandbox.pipedrive import create_app as create_pipedrive
    from sandbox.pipedrive.config import DEFAULT_API_TOKEN
    from sandbox.server import SandboxServer

    now = datetime.now(UTC).replace(microsecond=0)
    account = generate_account(args.persons, seed=args.seed, now=now - timedelta(hours=1))
    with SandboxServer(create_pipedrive(account, PipedriveConfig(webhook_retry_delays=(0.5, 1.0, 2.0)))) as pd_srv, \
            SandboxServer(create_brevo(BrevoConfig(import_delay_s=0.05))) as brevo_srv, \
            tempfile.TemporaryDirectory(prefix="bench-webhooks-") as data:
        os.environ["AIRFLOW_CONN_PIPEDRIVE_DEFAULT"] = json.dumps(
            {"conn_type": "http", "host": pd_srv.url, "password": DEFAULT_API_TOKEN})
        os.environ["AIRFLOW_CONN_BREVO_DEFAULT"] = json.dumps(
            {"conn_type": "http", "host": brevo_srv.url, "password": DEFAULT_API_KEY})
        from pipedrive_brevo.config import load_mapping
        from pipedrive_brevo.hooks.pipedrive import PipedriveHook
        from pipedrive_brevo.storage import DataLocation
        from pipedrive_brevo.webhook_registration import register_webhooks

        mapping = load_mapping()
        store = DataLocation(data)
        for list_id in sorted(mapping.list_ids()):
            admin(brevo_srv.url, "POST", "/brevo/lists", {"id": list_id, "name": f"List {list_id}", "folderId": 1})
        started = time.perf_counter()
        first = sync_run(store, mapping, "first", now - timedelta(minutes=1))
        print(f"first sync of {args.persons:,} persons: {first['load']['created']:,} contacts in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        url, server = serve_receiver(store)
        register_webhooks(PipedriveHook(), mapping.webhooks, url, http_auth_user=USER, http_auth_password=PASSWORD)

        brevo_state = brevo_srv.app.brevo
        names = {c["ext_id"] for c in admin(brevo_srv.url, "GET", "/brevo/contacts")["contacts"] if c.get("ext_id")}
        person_ids = sorted((int(i) for i in names), reverse=True)
        deals = [d for d in account.deals if d["status"] == "open" and d["stage_id"] in (1, 2)
                 and not d.get("is_archived") and not d.get("is_deleted") and str(d.get("person_id")) in names]
        processor = Processor(store, mapping)
        processor.thread.start()
        try:
            single: list[float] = []
            for n in range(args.singles):
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                if n % 2 == 0 or not deals:
                    pid = person_ids.pop()
                    t0 = time.perf_counter()
                    admin(pd_srv.url, "POST", "/records/persons", {"id": pid, "first_name": f"Single{n}",
                                                                   "update_time": stamp})
                    t1 = wait_until(lambda pid=pid, n=n: first_name(brevo_state, pid) == f"Single{n}")
                else:
                    deal = deals.pop()
                    t0 = time.perf_counter()
                    admin(pd_srv.url, "POST", "/records/deals", {"id": deal["id"], "stage_id": 3, "update_time": stamp,
                                                                 "stage_change_time": stamp})
                    t1 = wait_until(lambda did=deal["id"]: did in stage_events(brevo_state))
                single.append(t1 - t0)
                if processor.error:
                    raise processor.error
            runs_before = len(processor.runs)

            burst_ids = [person_ids.pop() for _ in range(min(args.burst, len(person_ids)))]
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            t0 = time.perf_counter()
            admin(pd_srv.url, "POST", "/records/persons",
                  [{"id": pid, "first_name": f"Burst{pid}", "update_time": stamp} for pid in burst_ids])
            seen: dict[int, float] = {}
            deadline = time.perf_counter() + 300
            while len(seen) < len(burst_ids) and time.perf_counter() < deadline:
                moment = time.perf_counter()
                for pid in burst_ids:
                    if pid not in seen and first_name(brevo_state, pid) == f"Burst{pid}":
                        seen[pid] = moment - t0
                if processor.error:
                    raise processor.error
                time.sleep(0.02)
            burst = list(seen.values())
        finally:
            processor.stop.set()
            processor.thread.join(timeout=60)
            server.should_exit = True
        burst_runs = [r for r in processor.runs if r["started"] >= t0]
        single_runs = processor.runs[:runs_before]

        later = datetime.now(UTC) + timedelta(minutes=3)
        started = time.perf_counter()
        sync_run(store, mapping, "hourly", later)
        hourly_run = time.perf_counter() - started

    hourly_median, hourly_p95 = HOUR_S * 0.5 + hourly_run, HOUR_S * 0.95 + hourly_run
    print("\n=== summary ===")
    print(f"account: {args.persons:,} persons; an incremental hourly sync run takes {hourly_run:.1f} s")
    phases = {k: statistics.median(r["phases"][k] for r in single_runs) for k in ("apply", "plan", "load")}
    print("single: one processing run per change; median phases: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
    print(f"burst: {len(burst)}/{len(burst_ids)} changes reached Brevo in {len(burst_runs)} processing runs "
          f"(events per run: {[r['events'] for r in burst_runs]})")
    for name, values in (("single", single), (f"burst of {len(burst_ids)}", burst)):
        median, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"[{name}] event-to-Brevo latency: median {median:.2f} s, p95 {p95:.2f} s "
              f"(n={len(values)}); hourly schedule: median {hourly_median / 60:.0f} min, p95 {hourly_p95 / 60:.0f} min; "
              f"ratio {hourly_median / median:,.0f}x (median), {hourly_p95 / p95:,.0f}x (p95)")
    return 0 if len(burst) == len(burst_ids) else 1


if __name__ == "__main__":
    raise SystemExit(main())
