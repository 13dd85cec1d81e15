"""What the hook tests share: credentials of the sandboxes, a tiny retry policy, admin helpers.

Kept out of ``conftest.py`` so test modules import it as an ordinary module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from pipedrive_brevo.http import RetryPolicy
from sandbox.server import App, SandboxServer

PIPEDRIVE_TOKEN = "sandbox-pipedrive-token"
BREVO_KEY = "xkeysib-sandbox-key"
FAST_RETRY = RetryPolicy(max_attempts=5, backoff_base_s=0.01, backoff_max_s=0.05, max_elapsed_s=10, max_429_retries=3)


@dataclass
class Sandbox:
    """A running sandbox and the admin calls tests use on it."""

    server: SandboxServer
    app: App

    @property
    def url(self) -> str:
        return self.server.url

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.url}/__admin{path}", json=body, timeout=10)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def faults(self, **values: Any) -> None:
        self.admin("POST", "/faults", values)

    def counters(self) -> dict[str, int]:
        return self.admin("GET", "/counters")


def persons(ids: range, **fields: Any) -> list[dict[str, Any]]:
    """Minimal v2 persons for the admin upsert."""
    return [{"id": i, "name": f"Person {i}", "emails": [{"value": f"p{i}@example.com", "primary": True,
                                                          "label": "work"}], **fields} for i in ids]
