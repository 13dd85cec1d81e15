"""Fixtures for the Brevo sandbox tests: a running sandbox and a client for its API."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from sandbox.brevo import BrevoConfig, create_app
from sandbox.server import SandboxServer

API_KEY = "xkeysib-sandbox-key"


@dataclass
class Brevo:
    """A running sandbox: ``api`` calls ``/v3`` with the key, ``admin`` the admin endpoints."""

    server: SandboxServer
    session: requests.Session

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, method: str, path: str, *, key: str | None = API_KEY, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["api-key"] = key
        return self.session.request(method, self.url + "/v3" + path, headers=headers, timeout=10, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + "/__admin" + path, timeout=10, **kwargs)

    def seed_list(self, list_id: int, name: str = "", folder_id: int = 1) -> None:
        response = self.admin("POST", "/brevo/lists", json={"id": list_id, "name": name or f"L{list_id}",
                                                            "folderId": folder_id})
        assert response.status_code == 201, response.text

    def contacts(self) -> list[dict[str, Any]]:
        return self.admin("GET", "/brevo/contacts").json()["contacts"]

    def contact(self, email: str) -> dict[str, Any]:
        return next(c for c in self.contacts() if c.get("email") == email)

    def wait_process(self, process_id: int, timeout: float = 10.0) -> dict[str, Any]:
        """Poll ``GET /processes/{id}`` until it finishes (limits off in these fixtures)."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.api("GET", f"/processes/{process_id}").json()
            if body["status"] in ("completed", "failed") or time.monotonic() > deadline:
                return body
            time.sleep(0.02)


@pytest.fixture
def start_brevo(serve: Callable[[Any], SandboxServer]) -> Callable[..., Brevo]:
    """Start a sandbox with a given config (imports finish quickly, limits off unless asked)."""

    def start(config: BrevoConfig | None = None, **overrides: Any) -> Brevo:
        config = config or BrevoConfig(import_delay_s=0.05, limits_enabled=False)
        for name, value in overrides.items():
            setattr(config, name, value)
        session = requests.Session()
        return Brevo(serve(create_app(config)), session)

    return start


@pytest.fixture
def brevo(start_brevo: Callable[..., Brevo]) -> Brevo:
    return start_brevo()
