"""A whole ``pipedrive_to_brevo`` run on a large account: wall time, calls per API, peak memory.

    python -m bench.bench_sync [--persons 100000] [--seed 1] [--changed 1000]

Serves a generated account from the Pipedrive sandbox (Lite: 20 requests per rolling 2 s, the
daily token budget on) and an empty Brevo account (General-tier limits) from a child process, so
the peak RSS printed is the pipeline's alone, and the sandboxes' threads do not share its GIL.
It then calls what the DAG's operators call, in their order, without Airflow (whose scheduler
adds nothing to measure here): ``extract_reference``, ``extract_entity`` + ``merge_entity`` per
entity, the Brevo preparation, ``plan_run`` and ``load_run``. Three runs:

1. **full**: the first sync of the account;
2. **unchanged**: the same again; the aim is zero Brevo writes and only the extraction's few
   requests (one empty page per stream);
3. **incremental**: after ``--changed`` persons (1% by default) are renamed in Pipedrive; the floor is one
   import call (the changed contacts fit one batch).

Runs 2 and 3 stand for the next hourly runs: before each, the Brevo sandbox's rate windows are
reset (an hour has passed). Without that a run cannot start: a first sync of 100,000 persons
spends the whole hourly budget of Brevo's "other" bucket (100 calls on the General tier: the
import processes' polls, the company import and its id scan, CRM attributes), printed per run.

Figures printed last: wall time per phase; Pipedrive requests and tokens against the fewest
possible (one request per 500 records of each stream); Brevo calls per 1,000 contacts against one
call per contact; 429s; peak RSS.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

# The generator's clock: the last whole hour minus one, so that every record lies before the first run's
# window end (a fixed date ahead of the real clock would leave records "in the future" for later runs
# to pick up) and the account is the same for every bench started within the same hour.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
PAGE = 500
PIPEDRIVE_RATE = 10.0  # Lite, API token: 20 requests per rolling 2 s
# x-token-cost of each listing (openapi-v2.yaml, openapi-v1.yaml): what one page costs at best.
LISTING_COST = {"persons": 10, "organizations": 10, "activities": 10, "deals": 10, "deals_archived": 20,
                "leads": 20, "leads_archived": 40}


# ------------------------------------------------------------------------------ the sandboxes

def _serve(persons: int, seed: int, now: datetime, urls: Any, stop: Any) -> None:
    """Child process: generate the account, serve both sandboxes, report their URLs, wait for stop."""
    from sandbox.brevo import BrevoConfig
    from sandbox.brevo import create_app as create_brevo
    from sandbox.generator import generate_account
    from sandbox.pipedrive import PipedriveConfig
    from sandbox.pipedrive import create_app as create_pipedrive
    from sandbox.server import SandboxServer

    account = generate_account(persons, seed=seed, now=now)
    counts = {name: len(getattr(account, name)) for name in
              ("persons", "organizations", "deals", "activities", "leads")}
    with SandboxServer(create_pipedrive(account, PipedriveConfig(plan="lite"))) as pipedrive, \
            SandboxServer(create_brevo(BrevoConfig())) as brevo:
        urls.put({"pipedrive": pipedrive.url, "brevo": brevo.url, "counts": counts})
        stop.wait()


@contextmanager
def sandboxes(persons: int, seed: int) -> Iterator[dict[str, Any]]:
    context = mp.get_context("spawn")  # a fresh interpreter: none of this process's memory
    urls, stop = context.Queue(), context.Event()
    child = context.Process(target=_serve, args=(persons, seed, NOW, urls, stop), daemon=True)
    child.start()
    try:
        yield urls.get(timeout=1800)
    finally:
        stop.set()
        child.join(timeout=30)
        if child.is_alive():
            child.terminate()


def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    import requests

    response = requests.request(method, f"{url}/__admin{path}", json=body, timeout=120)
    response.raise_for_status()
    return response.json() if response.content else None


# ------------------------------------------------------------------------------- one sync run

def sync_run(store: Any, mapping: Any, run_id: str, run_after: datetime) -> dict[str, Any]:
    """What the DAG's tasks do, in their order, with one fresh hook per API (for its counters)."""
    from pipedrive_brevo import brevo_setup, sync_state
    from pipedrive_brevo.desired_state import specs_for
    from pipedrive_brevo.extraction import (
        STREAMS,
        extract_entity,
        extract_reference,
        merge_entity,
        read_watermark,
        reconcile_deletes,
        reconcile_due,
        record_reconciled,
    )
    from pipedrive_brevo.hooks.brevo import BrevoHook
    from pipedrive_brevo.hooks.pipedrive import PipedriveHook
    from pipedrive_brevo.load import load_run
    from pipedrive_brevo.planning import plan_run
    from pipedrive_brevo.transform.lists import mapped_lists
    from pipedrive_brevo.windows import extraction_window

    pipedrive, brevo = PipedriveHook(), BrevoHook()  # as the operators build them
    phases: dict[str, float] = {}
    records: dict[str, int] = {}
    started = time.perf_counter()
    extract_reference(pipedrive, store)
    reference_calls = pipedrive.stats.snapshot()["calls"]
    reference_tokens = pipedrive.stats.snapshot()["tokens"]
    extractions = []
    today = run_after.date().isoformat()
    for entity in mapping.pipedrive.sync.entities():
        windows = {s.name: extraction_window(run_after=run_after, watermark=read_watermark(store, s.name))
                   for s in STREAMS[entity]}
        result = extract_entity(pipedrive, store, entity, windows, run_id)
        if result["complete"] and reconcile_due(store, entity, today, False):
            result["deleted_found"] = reconcile_deletes(pipedrive, store, entity, run_id, deleted_at=run_after)
            record_reconciled(store, entity, today, run_id, result["deleted_found"])
        for stream in STREAMS[entity]:
            records[stream.collection] = records.get(stream.collection, 0) + result["streams"][stream.name]["records"]
        extractions.append(result)
    phases["extract"] = time.perf_counter() - started

    started = time.perf_counter()
    merged = [merge_entity(store, extraction) for extraction in extractions]
    phases["merge"] = time.perf_counter() - started

    started = time.perf_counter()
    brevo_setup.check_lists(mapping, brevo.get_lists())
    types = brevo_setup.attribute_types(brevo.get_attributes())
    types.update(brevo_setup.create_missing(brevo, specs_for(mapping, store, types)))
    org_attribute = brevo_setup.company_org_attribute(brevo, create=True)
    members = None if sync_state.has_synced(store) else brevo_setup.read_members(brevo, mapped_lists(mapping))
    phases["prepare"] = time.perf_counter() - started

    started = time.perf_counter()
    planned = plan_run(store, mapping, run_id, brevo_attributes=types, members=members, dry_run=False,
                       run_after=run_after, company_org_attribute=org_attribute)
    phases["transform+plan"] = time.perf_counter() - started

    started = time.perf_counter()
    loaded = load_run(brevo, store, mapping, run_id)
    phases["load"] = time.perf_counter() - started
    return {"phases": phases, "records": records, "merged": merged, "plan": planned["plan"],
            "contacts_desired": planned["contacts_desired"], "load": loaded,
            "pipedrive": pipedrive.stats.snapshot(), "brevo": brevo.stats.snapshot(),
            "reference": {"calls": reference_calls, "tokens": reference_tokens}}


def fewest_pipedrive(result: dict[str, Any]) -> tuple[int, int]:
    """The fewest requests and tokens the run's listings could take: one page per 500 records.

    Every stream costs at least one request (an empty page says "nothing changed"); the reference
    data (fields, pipelines, stages, ...) is counted as the hook fetched it.
    """
    requests = result["reference"]["calls"]
    tokens = result["reference"]["tokens"]
    streams = {"persons": 1, "organizations": 1, "activities": 1, "deals": 2, "deals_archived": 1,
               "leads": 1, "leads_archived": 1}  # deals: live and status=deleted share one collection
    for collection, count in result["records"].items():
        pages = max(math.ceil(count / PAGE), streams[collection])
        requests += pages
        tokens += pages * LISTING_COST[collection]
    return requests, tokens


def other_calls(url: str) -> int:
    """Calls so far in Brevo's "other" bucket (companies, CRM, processes): 100 an hour on General."""
    return int(admin(url, "GET", "/brevo/usage").get("buckets", {}).get("other", {}).get("calls", 0))


def next_hour(url: str) -> None:
    """The next scheduled run comes an hour later: Brevo's hourly windows are empty again by then."""
    admin(url, "POST", "/brevo/config", {"reset_limits": True})


def brevo_writes(counters: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k.removeprefix("write:"): v - before.get(k, 0) for k, v in sorted(counters.items())
            if k.startswith("write:") and v != before.get(k, 0)}


def report(name: str, result: dict[str, Any], writes: dict[str, int], floor_writes: int) -> list[str]:
    """Three lines per run. ``floor_writes``: the fewest contact writes (imports) the run needs."""
    pd_stats, br_stats = result["pipedrive"], result["brevo"]
    fewest_calls, fewest_tokens = fewest_pipedrive(result)
    sent = result["load"]["created"] + result["load"]["updated"]
    total_writes = sum(writes.values())
    imports = writes.get("POST /v3/contacts/import", 0)
    per_thousand = f"{br_stats['calls'] * 1000 / sent:.2f}" if sent else "n/a (no contact sent)"
    return [
        f"[{name}] wall time per phase: " + ", ".join(f"{k} {v:.1f} s" for k, v in result["phases"].items())
        + f"; total {sum(result['phases'].values()):.1f} s",
        f"[{name}] pipedrive: {pd_stats['calls']} requests (fewest possible {fewest_calls}), "
        f"{pd_stats['tokens']:,} tokens (fewest {fewest_tokens:,}), {pd_stats['http_429']} 429s, "
        f"paced {pd_stats['throttle_wait_s']:.1f} s; floor wall time at Lite {pd_stats['calls'] / PIPEDRIVE_RATE:.1f} s",
        f"[{name}] brevo: {br_stats['calls']} calls for {sent:,} contacts created/updated "
        f"(per 1,000 contacts: {per_thousand} vs 1,000 one call per contact), {br_stats['http_429']} 429s; "
        f"writes {total_writes}, of them contact imports {imports} (floor {floor_writes}): {writes or 'none'}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--changed", type=int, default=None,
                        help="persons renamed before the incremental run (default: 1%% of --persons)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with sandboxes(args.persons, args.seed) as served, tempfile.TemporaryDirectory(prefix="bench-sync-") as data:
        print(f"generated and served {served['counts']} in {time.perf_counter() - started:.1f} s", flush=True)
        from sandbox.brevo.config import DEFAULT_API_KEY
        from sandbox.pipedrive.config import DEFAULT_API_TOKEN

        os.environ["AIRFLOW_CONN_PIPEDRIVE_DEFAULT"] = json.dumps(
            {"conn_type": "http", "host": served["pipedrive"], "password": DEFAULT_API_TOKEN})
        os.environ["AIRFLOW_CONN_BREVO_DEFAULT"] = json.dumps(
            {"conn_type": "http", "host": served["brevo"], "password": DEFAULT_API_KEY})
        from pipedrive_brevo.config import load_mapping
        from pipedrive_brevo.storage import DataLocation

        mapping = load_mapping()
        store = DataLocation(data)
        for list_id in sorted(mapping.list_ids()):
            admin(served["brevo"], "POST", "/brevo/lists", {"id": list_id, "name": f"List {list_id}", "folderId": 1})
        lines: list[str] = []
        failed = False
        from pipedrive_brevo.http import RateLimitedError

        url = served["brevo"]
        before, other = admin(url, "GET", "/counters"), other_calls(url)
        full = sync_run(store, mapping, "bench_full", datetime.now(UTC))
        writes = brevo_writes(admin(url, "GET", "/counters"), before)
        contacts = full["load"]["created"]
        lines += report("full", full, writes, floor_writes=math.ceil(contacts / 5000))
        lines.append(f"[full] brevo 'other' bucket: {other_calls(url) - other} calls of its 100 an hour")
        print("\n".join(lines[-4:]), flush=True)

        try:
            next_hour(url)
            before, other = admin(url, "GET", "/counters"), other_calls(url)
            unchanged = sync_run(store, mapping, "bench_unchanged", datetime.now(UTC))
            writes = brevo_writes(admin(url, "GET", "/counters"), before)
            lines += report("unchanged", unchanged, writes, floor_writes=0)
            lines.append(f"[unchanged] brevo 'other' bucket: {other_calls(url) - other} calls of its 100 an hour")
            print("\n".join(lines[-4:]), flush=True)

            renamed = rename_persons(served["pipedrive"], store, args.changed or max(1, args.persons // 100))
            next_hour(url)
            before, other = admin(url, "GET", "/counters"), other_calls(url)
            incremental = sync_run(store, mapping, "bench_incremental", datetime.now(UTC))
            writes = brevo_writes(admin(url, "GET", "/counters"), before)
            name = f"{renamed} persons renamed"
            lines += report(name, incremental, writes, floor_writes=1)
            lines.append(f"[{name}] brevo 'other' bucket: {other_calls(url) - other} calls of its 100 an hour")
            print("\n".join(lines[-4:]), flush=True)
        except RateLimitedError as exc:  # Brevo's hourly "other" budget: a finding, not a crash
            lines.append(f"stopped: {exc}")
            failed = True
        usage = admin(served["pipedrive"], "GET", "/pipedrive/usage")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n=== summary ===")
    print(f"account: {served['counts']}; contacts in Brevo after the full run: {contacts:,}")
    print("\n".join(lines))
    print(f"pipedrive daily budget spent over the three runs: {usage.get('tokens_spent', usage)} tokens")
    print(f"peak RSS of the pipeline (sandboxes excluded): {peak:,.0f} MB")
    return 1 if failed else 0


def rename_persons(url: str, store: Any, count: int) -> int:
    """Rename ``count`` persons that are contacts (first name, and so FIRSTNAME, changes)."""
    from pipedrive_brevo import sync_state
    from pipedrive_brevo.extraction import read_watermark
    from pipedrive_brevo.windows import iso

    contacts = sync_state.read_contacts(store)
    ids = sorted(int(v) for v in contacts["ext_id"].dropna())[:count]
    stamp = iso(read_watermark(store, "persons"))  # inside the next run's window
    admin(url, "POST", "/records/persons", [
        {"id": i, "first_name": f"Renamed{i}", "last_name": "Bench", "name": f"Renamed{i} Bench",
         "update_time": stamp} for i in ids])
    return len(ids)


if __name__ == "__main__":
    raise SystemExit(main())
