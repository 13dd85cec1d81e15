"""How fast the Pipedrive sandbox serves a large account, so that at 100k records the configured
rate limit, not the server, bounds an extraction.

    python -m bench.bench_sandbox_pipedrive [--persons 100000] [--seed 1]

Serves a generated account with rate limits off and measures:

1. one 500-person page in process (``App.handle``: query plan, shaping, JSON), over every page of
   a full cursor scan: the server's own cost per page (the first one also builds the index);
2. a full v2 cursor scan of ``/api/v2/persons?limit=500`` over loopback HTTP, as a client reads it;
3. an incremental scan (``sort_by=update_time`` in a 30-day window), the hourly sync's query.

The last lines print pages and records per second, and the ratio to what Pipedrive's fastest
plan allows (Ultimate: 120 requests per 2 s for an API token = 60 pages/s = 30,000 records/s).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from sandbox.generator import generate_account
from sandbox.pipedrive import PipedriveConfig, create_app
from sandbox.pipedrive.config import BURST_LIMITS, DEFAULT_API_TOKEN
from sandbox.server import Request, SandboxServer

PAGE = 500
HEADERS = {"x-api-token": DEFAULT_API_TOKEN}


def in_process_page_ms(app: Any) -> list[float]:
    """Milliseconds per page of a full scan, through ``App.handle`` with no socket in between."""
    timings: list[float] = []
    cursor: str | None = None
    while True:
        query = {"limit": [str(PAGE)], **({"cursor": [cursor]} if cursor else {})}
        request = Request("GET", "/api/v2/persons", query, {"x-api-token": DEFAULT_API_TOKEN}, b"")
        started = time.perf_counter()
        response = app.handle(request)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, response.body[:300]
        body = json.loads(response.body)
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            return timings


def http_scan(url: str, session: requests.Session, **query: Any) -> tuple[int, int, float]:
    """(pages, records, seconds) of a cursor scan over HTTP."""
    pages = records = 0
    cursor: str | None = None
    started = time.perf_counter()
    while True:
        params = {"limit": PAGE, **query, **({"cursor": cursor} if cursor else {})}
        response = session.get(url + "/api/v2/persons", params=params, headers=HEADERS, timeout=60)
        response.raise_for_status()
        body = response.json()
        pages += 1
        records += len(body["data"])
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            return pages, records, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    started = time.perf_counter()
    account = generate_account(args.persons, seed=args.seed, now=now)
    gc.collect()  # the generator pauses the collector; its backlog is the generator's cost, not the server's
    generated = time.perf_counter() - started
    started = time.perf_counter()
    app = create_app(account, PipedriveConfig(limits_enabled=False))
    indexed = time.perf_counter() - started
    live = sum(1 for p in account.persons if not p.get("is_deleted"))
    print(f"account: {args.persons} persons ({live} not deleted), generated in {generated:.1f} s; "
          f"sandbox app ready in {indexed:.2f} s (spec facts read, indexes follow on first use)")

    first, *rest = in_process_page_ms(app)
    print(f"in process: first page {first:.1f} ms (builds the id index), then {len(rest)} pages of {PAGE}: "
          f"median {statistics.median(rest):.2f} ms, p95 {sorted(rest)[int(len(rest) * 0.95) - 1]:.2f} ms, "
          f"max {max(rest):.2f} ms (JSON encoding is most of it)")

    with SandboxServer(app) as server, requests.Session() as session:
        http_scan(server.url, session, limit=10)  # warm up the connection
        pages, records, seconds = http_scan(server.url, session)
        since = (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        until = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        w_pages, w_records, w_seconds = http_scan(server.url, session, sort_by="update_time",
                                                  updated_since=since, updated_until=until)
    assert records == live, (records, live)

    allowed_pages = BURST_LIMITS["ultimate"][0] / 2  # requests per second, API token, Ultimate plan
    server_pages = 1000 / statistics.median(rest)
    print(f"incremental scan (30-day window): {w_pages} pages, {w_records} records in {w_seconds:.2f} s "
          f"({w_pages / w_seconds:.0f} pages/s)")
    print(f"full v2 cursor scan over HTTP: {pages} pages, {records} records in {seconds:.2f} s "
          "(client decoding included, on the same cores)")
    print(f"pages per second: {pages / seconds:.1f} over HTTP, {server_pages:.0f} server alone; "
          f"Pipedrive Ultimate allows {allowed_pages:.0f} (ratios {pages / seconds / allowed_pages:.1f}x, "
          f"{server_pages / allowed_pages:.1f}x)")
    print(f"records per second: {records / seconds:,.0f} over HTTP, {server_pages * PAGE:,.0f} server alone; "
          f"Ultimate allows {allowed_pages * PAGE:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
