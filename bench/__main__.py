"""`make bench`: every benchmark in turn; each prints its figures and ratios as its last lines.

    python -m bench                      # all
    python -m bench pipedrive_extract    # one (the module name without its bench_ prefix)
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = ["sandbox_pipedrive", "pipedrive_extract", "brevo_load", "transform", "sync", "webhooks"]


def main(argv: list[str]) -> int:
    chosen = argv or BENCHMARKS
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {BENCHMARKS}", file=sys.stderr)
        return 2
    failed = []
    for name in chosen:
        print(f"\n=== bench_{name} ===", flush=True)
        started = time.perf_counter()
        code = importlib.import_module(f"bench.bench_{name}").main([])
        print(f"(bench_{name} took {time.perf_counter() - started:.1f} s)", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nfailed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
