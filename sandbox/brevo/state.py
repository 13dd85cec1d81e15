"""Everything one Brevo sandbox holds, handed to the route modules as one object."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.brevo.companies import CompanyStore
from sandbox.brevo.config import BrevoConfig
from sandbox.brevo.events import EventLog
from sandbox.brevo.limits import RateLimiter
from sandbox.brevo.processes import ProcessRunner
from sandbox.brevo.store import Account
from sandbox.server import App


@dataclass
class Usage:
    """Calls per endpoint and per rate-limit bucket, and how many were refused with 429."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: Counter[str] = field(default_factory=Counter)
    limited: Counter[str] = field(default_factory=Counter)

    def record(self, endpoint: str, bucket: str, status: int) -> None:
        with self.lock:
            self.calls[f"endpoint:{endpoint}"] += 1
            self.calls[f"bucket:{bucket}"] += 1
            if status == 429:
                self.limited[f"endpoint:{endpoint}"] += 1
                self.limited[f"bucket:{bucket}"] += 1

    def report(self) -> dict[str, Any]:
        with self.lock:
            def part(counter: Counter[str], prefix: str) -> dict[str, int]:
                return {k[len(prefix):]: v for k, v in sorted(counter.items()) if k.startswith(prefix)}

            return {
                "endpoints": {name: {"calls": calls, "429": self.limited.get(f"endpoint:{name}", 0)}
                              for name, calls in part(self.calls, "endpoint:").items()},
                "buckets": {name: {"calls": calls, "429": self.limited.get(f"bucket:{name}", 0)}
                            for name, calls in part(self.calls, "bucket:").items()},
                "total": {"calls": sum(part(self.calls, "bucket:").values()),
                          "429": sum(part(self.limited, "bucket:").values())},
            }


@dataclass
class BrevoState:
    app: App
    config: BrevoConfig
    account: Account
    companies: CompanyStore
    events: EventLog
    processes: ProcessRunner
    limiter: RateLimiter
    usage: Usage

    def take_import_failure(self) -> bool:
        """Consume one ``fail_imports`` fault switch, if set: that import process will fail."""
        with self.app.lock:
            if self.app.faults.fail_imports > 0:
                self.app.faults.fail_imports -= 1
                return True
        return False
