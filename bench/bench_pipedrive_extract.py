"""How close PipedriveHook comes to the rate limit's floor when it extracts a large account.

    python -m bench.bench_pipedrive_extract [--persons 100000] [--plan lite] [--seed 1]

Serves a generated account from the Pipedrive sandbox with its limits on (Lite: 20 requests per
rolling 2 s for an API token), then runs a full v2 cursor scan of persons through the hook
(``limit=500``, pacing from the rate-limit headers) and prints:

* wall time against the floor (below): the fewest requests are one per 500 listed persons, at
  the limit's pace of 2 s / 20 requests = 0.1 s a request at Lite;
* requests and tokens per 1,000 records; 429s received (the aim is none).

The floor is what the rolling window allows at best: any ``limit`` requests in a row span at least one
window, so request ``k`` (from 0) cannot start before ``floor(k / limit)`` windows have passed and the
last of ``fewest`` requests not before ``(ceil(fewest / limit) - 1) x window`` seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from datetime import UTC, datetime

from sandbox.generator import generate_account
from sandbox.pipedrive import PipedriveConfig, create_app
from sandbox.pipedrive.config import BURST_LIMITS, DEFAULT_API_TOKEN
from sandbox.server import SandboxServer

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a fixed clock: the same account on every run

WINDOW_S = 2.0
PAGE = 500


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--plan", default="lite", choices=sorted(BURST_LIMITS))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    account = generate_account(args.persons, seed=args.seed, now=NOW)
    listed = sum(1 for p in account.persons if not p.get("is_deleted"))
    print(f"generated {args.persons:,} persons ({listed:,} not deleted) in {time.perf_counter() - started:.1f}s")

    app = create_app(account, PipedriveConfig(plan=args.plan))
    with SandboxServer(app) as server:
        os.environ["AIRFLOW_CONN_PIPEDRIVE_DEFAULT"] = json.dumps(
            {"conn_type": "http", "host": server.url, "password": DEFAULT_API_TOKEN})
        from pipedrive_brevo.hooks.pipedrive import PipedriveHook

        hook = PipedriveHook()
        records = pages = 0
        started = time.perf_counter()
        for page in hook.iter_persons(sort_by="id"):
            pages += 1
            records += len(page.items)
        wall = time.perf_counter() - started
        stats = hook.stats.snapshot()
        usage = app.limiter.report()

    limit = BURST_LIMITS[args.plan][0]
    fewest = math.ceil(listed / PAGE)
    floor = max(math.ceil(fewest / limit) - 1, 1) * WINDOW_S  # when the last request may start, at best
    per_thousand = 1000 / records if records else float("nan")
    assert records == listed, f"extracted {records} of {listed} persons"
    print(f"plan {args.plan}: {limit} requests / {WINDOW_S:.0f} s per token; {records:,} records in {pages} pages")
    print(f"server view: {usage['tokens_spent']:,} tokens spent, "
          f"{sum(t['responses_429'] for t in usage['tokens'].values())} answered 429")
    print(f"wall time {wall:.2f} s vs floor {floor:.2f} s ({fewest} requests, {limit} per rolling {WINDOW_S:.0f} s): "
          f"ratio {wall / floor:.3f}")
    print(f"requests per 1,000 records: {stats['calls'] * per_thousand:.2f} (fewest possible {fewest * 1000 / listed:.2f}); "
          f"tokens per 1,000 records: {stats['tokens'] * per_thousand:.1f}")
    print(f"429s received: {stats['http_429']}; retries: {stats['retries']}; paced for {stats['throttle_wait_s']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
