"""Rate limits, authentication and injected faults, all answered in Brevo's format."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.brevo import BrevoConfig, Window
from sandbox.brevo.limits import RateLimiter, bucket_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("path", "bucket"), [
    ("/v3/contacts", "contacts"), ("/v3/contacts/import", "contacts"), ("/v3/contacts/lists/2/contacts/add", "contacts"),
    ("/v3/events", "events"), ("/v3/events/batch", "events"),
    ("/v3/companies", "other"), ("/v3/processes/3", "other"), ("/v3/crm/attributes", "other"),
    ("/v3/contactsx", "other"),
])
def test_buckets(path: str, bucket: str) -> None:
    assert bucket_of(path) == bucket


def test_both_windows_apply_and_the_tighter_is_reported() -> None:
    clock = Clock()
    limiter = RateLimiter(lambda _: (Window(3, 1), Window(5, 3600)), clock)
    verdicts = [limiter.check("k", "contacts") for _ in range(4)]
    assert [(v.allowed, v.limit, v.remaining) for v in verdicts] == [
        (True, 3, 2), (True, 3, 1), (True, 3, 0), (False, 3, 0)]
    assert verdicts[3].headers() == {"x-sib-ratelimit-limit": "3", "x-sib-ratelimit-remaining": "0",
                                     "x-sib-ratelimit-reset": "1"}
    clock.now += 1.0  # a new second: the hour now binds (5 - 3 = 2 left, then 1)
    fifth = limiter.check("k", "contacts")
    assert (fifth.allowed, fifth.limit, fifth.remaining) == (True, 5, 1)
    limiter.check("k", "contacts")
    refused = limiter.check("k", "contacts")
    assert (refused.allowed, refused.limit, refused.remaining) == (False, 5, 0)
    assert refused.headers()["x-sib-ratelimit-reset"] == "3599"  # 3600 - 1 s since the window began


def test_keys_and_buckets_are_counted_apart() -> None:
    limiter = RateLimiter(lambda _: (Window(1, 60),), Clock())
    assert limiter.check("a", "contacts").allowed
    assert not limiter.check("a", "contacts").allowed
    assert limiter.check("b", "contacts").allowed
    assert limiter.check("a", "events").allowed


def test_headers_and_429_over_http(start_brevo: Any) -> None:
    config = BrevoConfig(import_delay_s=0)
    config.set_limits({"contacts": [[2, 60], [100, 3600]], "other": [[1, 3600]]})
    brevo = start_brevo(config)
    first = brevo.api("GET", "/contacts")
    assert (first.headers["x-sib-ratelimit-limit"], first.headers["x-sib-ratelimit-remaining"]) == ("2", "1")
    assert int(first.headers["x-sib-ratelimit-reset"]) in (59, 60)
    brevo.api("GET", "/contacts")
    refused = brevo.api("GET", "/contacts")
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_requests"
    assert refused.headers["x-sib-ratelimit-remaining"] == "0"
    assert "retry-after" not in refused.headers
    assert refused.headers["sib-request-id"]
    # other buckets are not touched; admin is never limited
    assert brevo.api("GET", "/companies").status_code == 200
    assert brevo.api("GET", "/companies").status_code == 429
    assert brevo.api("GET", "/events").status_code == 200
    assert brevo.admin("GET", "/brevo/contacts").status_code == 200
    usage = brevo.admin("GET", "/brevo/usage").json()
    assert usage["buckets"]["contacts"] == {"calls": 3, "429": 1}
    assert usage["endpoints"]["GET /v3/companies"] == {"calls": 2, "429": 1}
    assert usage["total"] == {"calls": 6, "429": 2}


def test_limits_change_at_run_time(brevo: Any) -> None:
    assert "x-sib-ratelimit-limit" not in brevo.api("GET", "/contacts").headers  # fixture: limits off
    config = brevo.admin("POST", "/brevo/config", json={"limits_enabled": True, "rate_limits": {"events": [[1, 10]]},
                                                         "import_delay_s": 0.01})
    assert config.status_code == 200
    assert config.json()["rate_limits"]["events"] == [{"limit": 1, "seconds": 10.0}]
    assert brevo.api("GET", "/events").status_code == 200
    assert brevo.api("GET", "/events").status_code == 429
    assert brevo.admin("POST", "/brevo/config", json={"reset_limits": True}).status_code == 200
    assert brevo.api("GET", "/events").status_code == 200
    assert brevo.admin("POST", "/brevo/config", json={"speed": 3}).status_code == 400


def test_general_tier_defaults() -> None:
    limits = BrevoConfig().rate_limits
    assert limits["contacts"] == (Window(10, 1), Window(36_000, 3600))
    assert limits["events"] == (Window(10, 1), Window(36_000, 3600))
    assert limits["other"] == (Window(100, 3600),)


@pytest.mark.parametrize("key", [None, "xkeysib-wrong"])
def test_missing_or_unknown_key_is_401(brevo: Any, key: str | None) -> None:
    response = brevo.api("GET", "/contacts", key=key)
    assert response.status_code == 401
    assert response.json() == {"message": "Key not found", "code": "unauthorized"}
    assert response.headers["sib-request-id"]


def test_unknown_route_and_method(brevo: Any) -> None:
    unknown = brevo.api("GET", "/nothing/here")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "document_not_found"
    wrong_method = brevo.api("PATCH", "/contacts")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"code": "method_not_allowed", "message": "PATCH Method is not allowed on this path"}


def test_faults_answer_in_brevo_format(brevo: Any) -> None:
    brevo.admin("POST", "/faults", json={"storm_429": 1})
    storm = brevo.api("GET", "/contacts")
    assert storm.status_code == 429
    assert storm.json()["code"] == "too_many_requests"
    assert storm.headers["x-sib-ratelimit-remaining"] == "0"
    assert storm.headers["sib-request-id"]
    brevo.admin("POST", "/faults", json={"error_rate": 1.0})
    error = brevo.api("GET", "/contacts")
    assert error.status_code in (500, 502, 503)
    assert set(error.json()) == {"code", "message"}
    brevo.admin("POST", "/faults", json={"reset": True})
    assert brevo.api("GET", "/contacts").status_code == 200


def test_malformed_json_is_a_400(brevo: Any) -> None:
    response = brevo.api("POST", "/contacts", data=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_parameter", "message": "Input must be a valid JSON object"}
