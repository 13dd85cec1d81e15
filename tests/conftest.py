"""Test-wide set-up: a throw-away Airflow home before anything imports Airflow, and loopback servers.

Airflow reads its configuration at import time, so the environment is set at module import,
before pytest collects a test module that imports ``airflow``. ``AIRFLOW__CORE__UNIT_TEST_MODE`` is
deliberately not set: it swaps in a config with other timetable semantics than production.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-test-home-")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("PIPEDRIVE_BREVO_DATA", tempfile.mkdtemp(prefix="pipedrive-brevo-data-"))
for path in (REPO, REPO / "plugins", REPO / "dags"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from sandbox.server import App, SandboxServer  # noqa: E402  (after the environment is set)


@pytest.fixture
def serve() -> Iterator[Callable[[App], SandboxServer]]:
    """Start any sandbox ``App`` on a free loopback port; every server is stopped after the test.

    >>> def test_x(serve):
    ...     srv = serve(create_app(...))
    ...     requests.get(srv.url + "/__admin/health")
    """
    servers: list[SandboxServer] = []

    def start(app: App) -> SandboxServer:
        server = SandboxServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
