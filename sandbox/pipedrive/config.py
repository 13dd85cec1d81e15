"""How a Pipedrive sandbox company account is set up and limited.

The defaults describe a one-seat *Lite* company, the smallest real account, so code tested
against the sandbox paces itself as it must in production (research/pipedrive-api.md §3). Every
field can be set per test, and the limits, the budget, token lifetimes and blocking also at run
time through ``POST /__admin/pipedrive/config``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

DEFAULT_API_TOKEN = "sandbox-pipedrive-token"
DEFAULT_OAUTH_CLIENT_ID = "sandbox-oauth-client"
DEFAULT_OAUTH_CLIENT_SECRET = "sandbox-oauth-secret"

# Burst limits per token per rolling window, by plan: (API token, OAuth app). Pipedrive's
# "Token-based rate limiting" page (research/pipedrive-api.md §3).
BURST_LIMITS: dict[str, tuple[int, int]] = {
    "lite": (20, 80),
    "growth": (40, 160),
    "premium": (100, 400),
    "ultimate": (120, 480),
}
# Daily budget = 30,000 base tokens x plan multiplier x seats.
BASE_DAILY_TOKENS = 30_000
PLAN_MULTIPLIERS: dict[str, int] = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}
# The Search API has its own cap on every plan and auth type.
SEARCH_BURST_LIMIT = 10


@dataclass
class PipedriveConfig:
    """One company account's credentials, plan and limits."""

    api_tokens: list[str] = field(default_factory=lambda: [DEFAULT_API_TOKEN])
    plan: str = "lite"
    seats: int = 1
    daily_budget: int | None = None  # None: 30,000 x plan multiplier x seats
    oauth_client_id: str = DEFAULT_OAUTH_CLIENT_ID
    oauth_client_secret: str = DEFAULT_OAUTH_CLIENT_SECRET
    access_token_ttl: int = 3599  # seconds, as Pipedrive's token response says
    authorization_code_ttl: int = 300  # "the authorization code expires in 5 minutes"
    refresh_token_ttl: int = 60 * 86_400  # unused for 60 days -> expired; each use resets it
    # A token answered 429 more than ``block_after_429s`` times within ``block_window_seconds``
    # is blocked by "Cloudflare" for ``block_seconds``: every request then gets a 403 HTML page.
    block_after_429s: int = 10
    block_window_seconds: float = 10.0
    block_seconds: float = 60.0
    burst_window_seconds: float = 2.0  # Pipedrive's rolling window; smaller only to test it quickly
    burst_limit: int | None = None  # overrides the plan's per-token burst limit (both auth types)
    search_burst_limit: int = SEARCH_BURST_LIMIT
    limits_enabled: bool = True  # False: count and report usage, never refuse (server benchmarks)
    user_id: int = 1  # the user the API tokens and OAuth grants belong to
    company_id: int = 1
    company_name: str = "Sandbox Company"
    max_webhooks_per_user: int = 40
    # Webhook delivery (sandbox/pipedrive/webhook_delivery.py): retries after a non-2xx answer or a
    # timeout, as Pipedrive's 3, 30 and 150 s; tests use a few hundredths of a second.
    webhook_retry_delays: tuple[float, ...] = (3.0, 30.0, 150.0)
    webhook_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.plan not in BURST_LIMITS:
            raise ValueError(f"unknown plan {self.plan!r}; valid: {sorted(BURST_LIMITS)}")
        if self.seats < 1:
            raise ValueError("seats must be >= 1")
        if self.daily_budget is not None and self.daily_budget < 0:
            raise ValueError("daily_budget must be >= 0")
        if not self.api_tokens or not all(isinstance(t, str) and t for t in self.api_tokens):
            raise ValueError("api_tokens must be a non-empty list of non-empty strings")
        for name in ("access_token_ttl", "authorization_code_ttl", "refresh_token_ttl", "block_after_429s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if any(not isinstance(d, (int, float)) or d < 0 for d in self.webhook_retry_delays) \
                or self.webhook_timeout_s <= 0:
            raise ValueError("webhook_retry_delays must be seconds >= 0 and webhook_timeout_s > 0")
        self.webhook_retry_delays = tuple(self.webhook_retry_delays)
        if self.burst_window_seconds <= 0 or self.block_window_seconds <= 0 or self.block_seconds < 0:
            raise ValueError("window lengths must be > 0 and block_seconds >= 0")

    # ------------------------------------------------------------ derived
    @property
    def effective_daily_budget(self) -> int:
        if self.daily_budget is not None:
            return self.daily_budget
        return BASE_DAILY_TOKENS * PLAN_MULTIPLIERS[self.plan] * self.seats

    def burst_limit_for(self, auth_kind: str) -> int:
        """Requests per window for one token of this kind (``api_token`` or ``oauth``)."""
        if self.burst_limit is not None:
            return self.burst_limit
        api, oauth = BURST_LIMITS[self.plan]
        return oauth if auth_kind == "oauth" else api

    # ------------------------------------------------------------ admin
    def update(self, values: dict[str, Any]) -> None:
        """Apply an admin change; unknown names and invalid values raise ValueError, changing nothing."""
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown config field(s) {sorted(unknown)}; valid: {sorted(known)}")
        candidate = PipedriveConfig(**{**asdict(self), **values})  # validates before anything changes
        for name in values:
            setattr(self, name, getattr(candidate, name))

    def public(self) -> dict[str, Any]:
        """The config as the admin endpoints show it: secrets left out."""
        shown = asdict(self)
        shown.pop("oauth_client_secret")
        shown["api_tokens"] = len(self.api_tokens)
        shown["effective_daily_budget"] = self.effective_daily_budget
        return shown
