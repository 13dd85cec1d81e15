"""Pipedrive's OAuth 2.0 server, as DOCS:marketplace-oauth-authorization describes it.

* An authorization code (minted here by ``POST /__admin/oauth/code``, standing in for the user's
  consent screen) is valid for 5 minutes and once.
* ``POST /oauth/token`` (form-encoded; the client authenticates with HTTP Basic or with
  ``client_id``/``client_secret`` in the body) exchanges it for an access token that lives
  ``expires_in`` seconds and a refresh token.
* ``grant_type=refresh_token`` returns a new access token and **the same** refresh token, whose
  60-day idle expiry starts again.
* ``api_domain`` is the base URL clients must call: this server's own, from the request's Host.

A grant (one app installation) is the identity the rate limiter counts, so refreshing a token
does not reset its burst window.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sandbox.pipedrive.config import PipedriveConfig
from sandbox.server import Request, Response


@dataclass
class Grant:
    """One authorized installation: a refresh token and who it acts for."""

    number: int
    refresh_token: str
    refresh_expires_at: float
    user_id: int
    scope: str = "base"

    @property
    def label(self) -> str:
        return f"oauth:{self.number}"


class OAuthError(Exception):
    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description

    def response(self) -> Response:
        return Response.json({"success": False, "error": self.code, "error_description": self.description},
                             status=self.status)


class OAuthServer:
    """Codes, grants and access tokens of one sandbox; thread-safe."""

    def __init__(self, config: PipedriveConfig, clock: Callable[[], float]):
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, tuple[float, int, str]] = {}  # code -> (expires_at, user_id, scope)
        self._grants: dict[str, Grant] = {}  # refresh token -> grant
        self._access: dict[str, tuple[Grant, float]] = {}  # access token -> (grant, expires_at)

    # ----------------------------------------------------------------- admin
    def mint_code(self, user_id: int | None = None, scope: str = "base") -> str:
        code = secrets.token_hex(20)
        with self._lock:
            expires = self.clock() + self.config.authorization_code_ttl
            self._codes[code] = (expires, user_id or self.config.user_id, scope)
        return code

    def expire_access_tokens(self) -> int:
        """Make every access token expired now (a test of refreshing mid-run); returns how many."""
        with self._lock:
            now = self.clock()
            self._access = {t: (g, min(exp, now)) for t, (g, exp) in self._access.items()}
            return len(self._access)

    # --------------------------------------------------------------- lookups
    def grant_for(self, access_token: str) -> Grant | None:
        """The grant an unexpired access token belongs to, else None."""
        with self._lock:
            found = self._access.get(access_token)
            if found is None:
                return None
            grant, expires_at = found
            return grant if self.clock() < expires_at else None

    # ------------------------------------------------------------- exchanges
    def exchange_code(self, code: str) -> tuple[Grant, str]:
        with self._lock:
            entry = self._codes.pop(code, None)  # single use, even when it turns out expired
            now = self.clock()
            if entry is None or now >= entry[0]:
                raise OAuthError(400, "invalid_grant", "Invalid or expired authorization code")
            _, user_id, scope = entry
            grant = Grant(len(self._grants) + 1, "1:1:" + secrets.token_hex(20),
                          now + self.config.refresh_token_ttl, user_id, scope)
            self._grants[grant.refresh_token] = grant
            return grant, self._issue(grant, now)

    def refresh(self, refresh_token: str) -> tuple[Grant, str]:
        with self._lock:
            grant = self._grants.get(refresh_token)
            now = self.clock()
            if grant is None or now >= grant.refresh_expires_at:
                raise OAuthError(400, "invalid_grant", "Invalid or expired refresh token")
            grant.refresh_expires_at = now + self.config.refresh_token_ttl
            return grant, self._issue(grant, now)

    def _issue(self, grant: Grant, now: float) -> str:
        token = "v1u:" + secrets.token_urlsafe(48)
        self._access[token] = (grant, now + self.config.access_token_ttl)
        return token

    # -------------------------------------------------------------- endpoint
    def token_endpoint(self, request: Request) -> Response:
        """``POST /oauth/token``."""
        try:
            form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8"), keep_blank_values=True).items()}
            self._authenticate_client(request, form)
            grant_type = form.get("grant_type", "authorization_code")
            if grant_type == "authorization_code":
                grant, access = self.exchange_code(form.get("code", ""))
            elif grant_type == "refresh_token":
                grant, access = self.refresh(form.get("refresh_token", ""))
            else:
                raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}")
        except OAuthError as exc:
            return exc.response()
        host = request.header("host") or "127.0.0.1"
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                                "expires_in": self.config.access_token_ttl,
                                "refresh_token": grant.refresh_token, "scope": grant.scope,
                                "api_domain": f"http://{host}"}
        return Response.json(body)

    def _authenticate_client(self, request: Request, form: dict[str, str]) -> None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.header("authorization") or ""
        if header[:6].lower() == "basic ":
            try:
                client_id, _, secret = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client", "Malformed client authentication") from None
        if not (secrets.compare_digest(client_id or "", self.config.oauth_client_id)
                and secrets.compare_digest(secret or "", self.config.oauth_client_secret)):
            raise OAuthError(401, "invalid_client", "Invalid client credentials")
