"""OAuth 2.0 refresh-token authentication: a bearer token that renews itself before it expires.

Pipedrive's flow (research §7): ``POST token_url`` form-encoded with HTTP Basic client
credentials and ``grant_type=refresh_token``; the answer holds ``access_token``, ``expires_in``,
the same ``refresh_token`` and ``api_domain``, the base URL every API call must then go to.

The access token is refreshed ``refresh_margin_s`` before it expires (so a long page loop never
sends an expired one), once more after an unexpected 401 (revoked early, clock skew), and kept in
a :class:`~pipedrive_brevo.hooks.token_store.TokenStore` so the next task reuses it.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipedrive_brevo.hooks.connection import ConnectionConfigError, require_safe_url
from pipedrive_brevo.hooks.token_store import TokenStore
from pipedrive_brevo.http import ApiDialect, AuthError, HttpClient, RetryPolicy
from pipedrive_brevo.redaction import fingerprint, register_secret


@dataclass(frozen=True)
class OAuthGrant:
    """The long-lived credentials from the connection's ``extra``."""

    client_id: str
    client_secret: str
    refresh_token: str
    token_url: str

    def __post_init__(self) -> None:
        for secret in (self.client_secret, self.refresh_token):
            register_secret(secret)

    def __repr__(self) -> str:
        return f"OAuthGrant(client_id={self.client_id!r}, token_url={self.token_url!r}, secrets='***')"

    @property
    def basic_auth(self) -> str:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        value = "Basic " + base64.b64encode(pair).decode("ascii")
        register_secret(value.split(" ", 1)[1])
        return value

    @property
    def fingerprint(self) -> str:
        """Identifies the grant a stored access token belongs to, without holding the secret."""
        return fingerprint(f"{self.client_id}|{self.refresh_token}|{self.token_url}")


class _TokenEndpointDialect(ApiDialect):
    name = "OAuth token endpoint"

    def error_detail(self, body: Any) -> tuple[str | None, str | None]:
        if isinstance(body, dict):
            code = body.get("error") if isinstance(body.get("error"), str) else body.get("code")
            message = body.get("error_description") or body.get("message") or body.get("error")
            return (str(code) if code else None, str(message) if message else None)
        return None, None


class OAuthAuth:
    """An :class:`~pipedrive_brevo.http.Auth` that sends ``Authorization: Bearer`` and refreshes it."""

    def __init__(self, grant: OAuthGrant, store: TokenStore, store_key: str, conn_id: str, *,
                 refresh_margin_s: float = 60.0, retry: RetryPolicy | None = None,
                 timeout: tuple[float, float] = (10.0, 30.0), clock: Callable[[], float] = time.time):
        self.grant = grant
        self.store = store
        self.store_key = store_key
        self.conn_id = conn_id
        self.refresh_margin_s = refresh_margin_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: dict[str, Any] | None = None
        self.refresh_count = 0
        self._endpoint = HttpClient(require_safe_url(grant.token_url, conn_id, "OAuth token_url"),
                                    _TokenEndpointDialect(), None, retry=retry, timeout=timeout)

    # --------------------------------------------------------------------- Auth protocol
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._valid_token()['access_token']}"}

    def refresh(self, sent: Mapping[str, str]) -> bool:
        """After a 401: get a new access token, unless another thread already replaced the one
        the refused request carried; either way the request may be sent again."""
        with self._lock:
            current = self._token
            if current is None or sent.get("Authorization") == f"Bearer {current['access_token']}":
                self._refresh_locked()
        return True

    # --------------------------------------------------------------------------- public
    @property
    def api_domain(self) -> str:
        """Where API calls go, as the last token response said."""
        return self._valid_token()["api_domain"]

    # ------------------------------------------------------------------------ internals
    def _fresh_enough(self, token: dict[str, Any] | None) -> bool:
        return bool(token and token.get("grant") == self.grant.fingerprint and token.get("access_token")
                    and token.get("api_domain")
                    and float(token.get("expires_at", 0)) - self.refresh_margin_s > self._clock())

    def _valid_token(self) -> dict[str, Any]:
        token = self._token
        if self._fresh_enough(token):
            return token  # type: ignore[return-value]
        with self._lock:
            if self._fresh_enough(self._token):
                return self._token  # type: ignore[return-value]
            stored = self.store.load(self.store_key)
            if self._fresh_enough(stored):
                register_secret(stored["access_token"])  # type: ignore[index]
                self._token = stored
                return stored  # type: ignore[return-value]
            return self._refresh_locked()

    def _refresh_locked(self) -> dict[str, Any]:
        response = self._endpoint.request(
            "POST", self.grant.token_url,
            data={"grant_type": "refresh_token", "refresh_token": self.grant.refresh_token},
            headers={"Authorization": self.grant.basic_auth}, idempotent=True)
        body = response.data if isinstance(response.data, dict) else {}
        access = body.get("access_token")
        if not access:
            raise AuthError(f"connection {self.conn_id!r}: the OAuth token endpoint answered without an "
                            "access_token", vendor="OAuth token endpoint", method="POST", status=response.status)
        register_secret(str(access))
        api_domain = body.get("api_domain")
        if not api_domain:
            raise ConnectionConfigError(f"connection {self.conn_id!r}: the OAuth token response has no api_domain")
        token = {
            "access_token": str(access),
            "expires_at": self._clock() + float(body.get("expires_in") or 3600),
            "api_domain": require_safe_url(str(api_domain), self.conn_id, "OAuth api_domain"),
            "grant": self.grant.fingerprint,
        }
        self._token = token
        self.refresh_count += 1
        self.store.save(self.store_key, token)
        return token

    def __repr__(self) -> str:
        return f"OAuthAuth(conn_id={self.conn_id!r}, client_id={self.grant.client_id!r})"
