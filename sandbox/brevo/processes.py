"""Brevo's asynchronous processes (``GET /processes``): imports run in the background.

A contacts import answers ``202 {processId}`` at once; the work happens later, and the client
learns the outcome only by polling ``GET /processes/{id}`` (in the 100-per-hour "other" bucket).
The sandbox keeps that shape: a process is ``queued``, then running (Brevo still answers the
legacy ``in_process``), then ``completed`` or ``failed``. Each stage lasts half of the configured
``import_delay_s`` counted from submission, and the job itself runs when the process starts
running. Processes run one after another on a worker thread, as an account's imports do.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

QUEUED, COMPLETED, FAILED = "queued", "completed", "failed"

# What a job returns: the CSV reports it wrote, by kind (e.g. "invalid_emails"), plus figures.
JobResult = tuple[dict[str, str], dict[str, Any]]


@dataclass
class Process:
    id: int
    name: str
    status: str
    submitted: float
    job: Callable[[], JobResult] | None
    import_info: bool  # a contacts import reports `info.import` once completed
    fail: bool = False
    reports: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    finished: threading.Event = field(default_factory=threading.Event)


class ProcessRunner:
    """Numbers, queues and runs processes; one daemon worker while there is work."""

    def __init__(self, delay_s: Callable[[], float], running_status: Callable[[], str],
                 clock: Callable[[], float] = time.monotonic):
        self._delay_s = delay_s
        self._running_status = running_status
        self._clock = clock
        self._lock = threading.Lock()
        self._processes: dict[int, Process] = {}
        self._queue: collections.deque[Process] = collections.deque()
        self._worker: threading.Thread | None = None
        self._next_id = 1

    def submit(self, name: str, job: Callable[[], JobResult] | None, *, import_info: bool,
               fail: bool = False) -> Process:
        with self._lock:
            process = Process(self._next_id, name, QUEUED, self._clock(), job, import_info, fail)
            self._next_id += 1
            self._processes[process.id] = process
            self._queue.append(process)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="brevo-processes", daemon=True)
                self._worker.start()
        return process

    def get(self, process_id: int) -> Process | None:
        with self._lock:
            return self._processes.get(process_id)

    def all(self) -> list[Process]:
        with self._lock:
            return list(self._processes.values())

    def wait_all(self, timeout: float = 30.0) -> bool:
        """Block until every submitted process has finished (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        return all(process.finished.wait(max(0.0, deadline - time.monotonic())) for process in self.all())

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._worker = None
                    return
                process = self._queue.popleft()
            self._run(process)

    def _sleep_until(self, moment: float) -> None:
        pause = moment - self._clock()
        if pause > 0:
            time.sleep(pause)

    def _run(self, process: Process) -> None:
        delay = max(0.0, float(self._delay_s()))
        self._sleep_until(process.submitted + delay / 2)
        process.status = self._running_status()
        outcome = FAILED
        if not process.fail and process.job is not None:
            try:
                process.reports, process.figures = process.job()
                outcome = COMPLETED
            except Exception as exc:
                process.figures = {"error": repr(exc)}
        elif not process.fail:
            outcome = COMPLETED
        process.job = None  # drop the rows it held
        self._sleep_until(process.submitted + delay)
        process.status = outcome
        process.finished.set()
