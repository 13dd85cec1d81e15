"""Where a refreshed OAuth access token is kept for the next task.

Tokens must never reach a log, an exception or a file under the data location. Inside Airflow
the token goes into a Variable whose name contains "token", which Airflow treats as sensitive
(masked in the UI and in logs) and which every worker can read, so the next task (on any worker)
reuses it instead of refreshing again. Outside a task (tests, scripts) there is no Variable
service, so an in-process cache is the store. Both sit behind :class:`TokenStore`, two methods,
so a secrets backend can replace them without touching the hook.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

from pipedrive_brevo.redaction import register_secret

log = logging.getLogger(__name__)


class TokenStore(Protocol):
    def load(self, name: str) -> dict[str, Any] | None: ...

    def save(self, name: str, token: dict[str, Any]) -> None: ...


class MemoryTokenStore:
    """Tokens in this process only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, dict[str, Any]] = {}

    def load(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            token = self._tokens.get(name)
            return dict(token) if token else None

    def save(self, name: str, token: dict[str, Any]) -> None:
        with self._lock:
            self._tokens[name] = dict(token)


class AirflowVariableTokenStore:
    """An Airflow Variable when running in a task, with an in-process cache in front of it.

    ``name`` must contain "token" so that Airflow masks the value; :func:`variable_name` makes
    sure of it.
    """

    def __init__(self) -> None:
        self._cache = MemoryTokenStore()

    def load(self, name: str) -> dict[str, Any] | None:
        cached = self._cache.load(name)
        if cached:
            return cached
        try:
            from airflow.sdk import Variable

            raw = Variable.get(name, default=None)
        except Exception:
            return None
        if not raw:
            return None
        try:
            token = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except (TypeError, ValueError):
            return None
        if isinstance(token, dict) and token.get("access_token"):
            register_secret(str(token["access_token"]))
            self._cache.save(name, token)
            return token
        return None

    def save(self, name: str, token: dict[str, Any]) -> None:
        self._cache.save(name, token)
        try:
            from airflow.sdk import Variable

            Variable.set(name, json.dumps(token), description="OAuth access token cache (managed by PipedriveHook)")
        except Exception as exc:
            log.debug("OAuth token kept in process only (no Airflow Variable service: %s)", type(exc).__name__)


def variable_name(vendor: str, conn_id: str) -> str:
    """``<vendor>_oauth_token__<conn_id>``: contains "token", so Airflow masks it."""
    return f"{vendor}_oauth_token__{conn_id}"


_default = AirflowVariableTokenStore()


def default_token_store() -> TokenStore:
    return _default
