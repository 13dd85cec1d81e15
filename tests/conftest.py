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

import json
from typing import Any

from sandbox.brevo import BrevoConfig
from sandbox.brevo import create_app as create_brevo
from sandbox.pipedrive import PipedriveConfig
from sandbox.pipedrive import create_app as create_pipedrive
from sandbox.server import App, SandboxServer
from tests.support.sandboxes import BREVO_KEY, PIPEDRIVE_TOKEN, Sandbox


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


@pytest.fixture
def pipedrive(serve, monkeypatch) -> Callable[..., Sandbox]:
    """``pipedrive(account=None, **config)`` starts a Pipedrive sandbox and sets ``pipedrive_default`` to it."""

    def start(account: Any = None, **config: Any) -> Sandbox:
        app = create_pipedrive(account, PipedriveConfig(**config))
        sandbox = Sandbox(serve(app), app)
        monkeypatch.setenv("AIRFLOW_CONN_PIPEDRIVE_DEFAULT", json.dumps(
            {"conn_type": "http", "host": sandbox.url, "password": PIPEDRIVE_TOKEN}))
        return sandbox

    return start


@pytest.fixture
def brevo(serve, monkeypatch) -> Callable[..., Sandbox]:
    """``brevo(**config)`` starts a Brevo sandbox (imports finish in 50 ms) and sets ``brevo_default``."""

    def start(**config: Any) -> Sandbox:
        config.setdefault("import_delay_s", 0.05)
        app = create_brevo(BrevoConfig(**config))
        sandbox = Sandbox(serve(app), app)
        monkeypatch.setenv("AIRFLOW_CONN_BREVO_DEFAULT", json.dumps(
            {"conn_type": "http", "host": sandbox.url, "password": BREVO_KEY}))
        return sandbox

    return start


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated metadata database in the throw-away AIRFLOW_HOME (``dag.test()`` needs one)."""
    from airflow.utils import db

    db.resetdb(skip_init=False)


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A fresh data location for one test."""
    monkeypatch.setenv("PIPEDRIVE_BREVO_DATA", str(tmp_path))
    return tmp_path
