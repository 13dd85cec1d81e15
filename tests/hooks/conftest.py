"""Fixtures for the hook tests: the real sandboxes on loopback, with the Airflow connections set.

Each fixture starts a fresh sandbox (through the shared ``serve`` fixture) and points the default
connection at it, so a hook built with no arguments talks to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.brevo import BrevoConfig
from sandbox.brevo import create_app as create_brevo
from sandbox.pipedrive import PipedriveConfig
from sandbox.pipedrive import create_app as create_pipedrive
from tests.hooks.sandboxes import BREVO_KEY, PIPEDRIVE_TOKEN, Sandbox


@pytest.fixture
def pipedrive(serve, monkeypatch) -> Callable[..., Sandbox]:
    """``pipedrive(**config)`` starts a Pipedrive sandbox and sets ``pipedrive_default`` to it."""

    def start(**config: Any) -> Sandbox:
        app = create_pipedrive(None, PipedriveConfig(**config))
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
