"""Run the local Pipedrive and Brevo API sandboxes.

    python -m sandbox serve --persons 2000 --seed 7 --ready-file /tmp/sandboxes.json
    python -m sandbox serve --only brevo --brevo-port 8802

Both servers listen on loopback only. Once they answer, one JSON line with their base URLs and
sandbox credentials is printed (and written to ``--ready-file``, for scripts that start this in the
background); then they serve until SIGINT or SIGTERM and stop cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sandbox.server import SandboxServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the sandboxes until interrupted")
    serve.add_argument("--only", choices=["pipedrive", "brevo"], help="serve one sandbox only")
    serve.add_argument("--pipedrive-port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--brevo-port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--persons", type=int, default=1000, help="size of the generated Pipedrive account")
    serve.add_argument("--seed", type=int, default=0, help="seed of the generated data set")
    serve.add_argument("--plan", default="lite", choices=["lite", "growth", "premium", "ultimate"],
                       help="Pipedrive plan: sets the burst limits and the daily token budget")
    serve.add_argument("--no-limits", action="store_true", help="turn rate limits off (benchmarks of the servers)")
    serve.add_argument("--ready-file", type=Path, help="write the JSON line here once serving")
    return parser


def build_servers(args: argparse.Namespace) -> tuple[list[SandboxServer], dict[str, Any]]:
    """Create (not start) the servers the arguments ask for, and what clients need to reach them."""
    servers: list[SandboxServer] = []
    info: dict[str, Any] = {"pid": os.getpid()}
    if args.only in (None, "pipedrive"):
        from sandbox.generator import generate_account
        from sandbox.pipedrive import PipedriveConfig, create_app

        started = time.monotonic()
        account = generate_account(args.persons, seed=args.seed)
        config = PipedriveConfig(plan=args.plan)
        if args.no_limits:
            config.limits_enabled = False
        server = SandboxServer(create_app(account, config), port=args.pipedrive_port)
        servers.append(server)
        info["pipedrive"] = {"url": server.url, "api_token": config.api_tokens[0],
                             "oauth_client_id": config.oauth_client_id, "persons": args.persons,
                             "seed": args.seed, "plan": args.plan,
                             "generated_in_s": round(time.monotonic() - started, 2)}
    if args.only in (None, "brevo"):
        from sandbox.brevo import BrevoConfig
        from sandbox.brevo import create_app as create_brevo

        bconfig = BrevoConfig()
        if args.no_limits:
            bconfig.limits_enabled = False
        server = SandboxServer(create_brevo(bconfig), port=args.brevo_port)
        servers.append(server)
        info["brevo"] = {"url": server.url, "api_key": bconfig.api_keys[0]}
    return servers, info


def serve(args: argparse.Namespace) -> int:
    servers, info = build_servers(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for server in servers:
        server.start()
    line = json.dumps(info)
    if args.ready_file:
        tmp = args.ready_file.with_suffix(".tmp")
        tmp.write_text(line)
        tmp.replace(args.ready_file)  # atomic: a reader never sees half a file
    print(line, flush=True)
    stop.wait()
    for server in servers:
        server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
