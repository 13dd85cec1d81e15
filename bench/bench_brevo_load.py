"""How few calls BrevoHook needs to load a large contact set into Brevo.

    python -m bench.bench_brevo_load [--contacts 100000] [--seed 1]

Builds one Brevo import row per distinct email of the generated Pipedrive persons (first and last
name, EXT_ID = the person id; broken emails are kept, so the import's reports have something to
say), loads them into the Brevo sandbox with its General-tier limits on through
``BrevoHook.import_contacts`` (chunks under 8 MB, each process followed to its end, its reports
read back), and prints calls per 1,000 contacts against one call per contact (``POST /contacts``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

from sandbox.brevo import BrevoConfig, create_app
from sandbox.brevo.config import DEFAULT_API_KEY
from sandbox.generator import generate_account
from sandbox.server import SandboxServer

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a fixed clock: the same account on every run

LIST_ID = 2


def contact_rows(persons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One import row per distinct email: the primary (else first) address, trimmed, lower-cased.

    Distinct, as the product's transform makes them: Brevo reports a repeated email only within
    one import file; across chunks the later row silently updates the earlier contact.
    """
    rows: dict[str, dict[str, Any]] = {}
    for person in persons:
        emails = person.get("emails") or []
        if person.get("is_deleted") or not emails:
            continue
        primary = next((e for e in emails if e.get("primary")), emails[0])
        email = str(primary["value"]).strip().lower()
        rows.setdefault(email, {"email": email, "attributes": {
            "EXT_ID": str(person["id"]), "FIRSTNAME": person.get("first_name") or "",
            "LASTNAME": person.get("last_name") or ""}})
    return list(rows.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000, help="persons to generate (rows follow)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    persons = generate_account(args.contacts, seed=args.seed, now=NOW).persons
    rows = contact_rows(persons)
    app = create_app(BrevoConfig())
    with SandboxServer(app) as server:
        import requests

        requests.post(f"{server.url}/__admin/brevo/lists", json={"id": LIST_ID, "name": "All contacts"}, timeout=10)
        os.environ["AIRFLOW_CONN_BREVO_DEFAULT"] = json.dumps(
            {"conn_type": "http", "host": server.url, "password": DEFAULT_API_KEY})
        from pipedrive_brevo.hooks.brevo import BrevoHook

        hook = BrevoHook(process_poll_s=1.0)
        started = time.perf_counter()
        results = hook.import_contacts(rows, list_ids=[LIST_ID])
        wall = time.perf_counter() - started
        stats = hook.stats.snapshot()
        server_usage = requests.get(f"{server.url}/__admin/brevo/usage", timeout=10).json()
        contacts = requests.get(f"{server.url}/__admin/brevo/contacts", timeout=60).json()["count"]

    rejected: dict[str, int] = {}
    for result in results:
        for rejection in result.rejected:
            rejected[rejection.reason] = rejected.get(rejection.reason, 0) + 1
    unmatched = sum(1 for r in results for x in r.rejected if x.index is None)
    assert all(r.status == "completed" for r in results), [r.status for r in results]
    assert contacts + sum(rejected.values()) == len(rows), (contacts, rejected, len(rows))
    calls = stats["calls"]
    per_thousand = calls * 1000 / len(rows)
    print(f"{len(rows):,} rows in {len(results)} import chunks under 8 MB; {contacts:,} contacts in Brevo; "
          f"rejected with reasons: {rejected or 'none'} ({unmatched} unmatched)")
    print(f"calls: {calls} ({server_usage['total']['calls']} API calls by the server's count, the rest report "
          f"downloads); 429s: {stats['http_429']}; wall time {wall:.1f} s")
    print(f"calls per 1,000 contacts: {per_thousand:.3f} vs 1,000 for one call per contact: "
          f"{1000 / per_thousand:,.0f}x fewer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
