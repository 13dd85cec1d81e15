"""Token-based rate limiting: burst windows, the daily budget, Cloudflare blocks, costs, headers.

Time is the fake clock's: a window frees or a block ends when a test advances it, never by waiting.
"""

from __future__ import annotations

import pytest

from tests.sandbox.pipedrive.conftest import Pipedrive, StartPipedrive

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                "x-daily-ratelimit-token-limit", "x-daily-ratelimit-token-remaining")


@pytest.fixture
def limited(start_pipedrive: StartPipedrive) -> Pipedrive:
    return start_pipedrive(limits_enabled=True)


def remaining(response) -> int:
    return int(response.headers["x-daily-ratelimit-token-remaining"])


# ------------------------------------------------------------------- burst
def test_burst_window_of_a_lite_api_token(limited: Pipedrive) -> None:
    answers = [limited.get("/api/v2/persons/1") for _ in range(20)]
    assert [a.status_code for a in answers] == [200] * 20
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:3]] == ["19", "18", "17"]
    assert answers[-1].headers["x-ratelimit-remaining"] == "0"
    assert answers[-1].headers["x-ratelimit-reset"] == "2"  # all 20 at one instant: 2 s until a slot frees
    over = limited.get("/api/v2/persons/1")
    assert over.status_code == 429
    assert over.json() == {"success": False, "error": "Request over limit",
                           "error_info": "Please check developers.pipedrive.com/docs/api/v1/#/rate-limiting",
                           "data": None, "additional_data": None}
    assert (over.headers["x-ratelimit-limit"], over.headers["x-ratelimit-remaining"]) == ("20", "0")
    assert remaining(over) == 30_000 - 20  # refused requests are not charged
    limited.clock.advance(1.5)
    assert limited.get("/api/v2/persons/1").headers["x-ratelimit-reset"] == "1"
    limited.clock.advance(0.5)  # the first 20 leave the rolling window
    again = limited.get("/api/v2/persons/1")
    assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "19"


@pytest.mark.parametrize(("plan", "seats", "burst", "budget"), [
    ("lite", 1, "20", "30000"), ("growth", 1, "40", "60000"), ("premium", 2, "100", "300000"),
    ("ultimate", 3, "120", "630000")])
def test_plans_set_burst_limit_and_budget(start_pipedrive: StartPipedrive, plan: str, seats: int, burst: str,
                                          budget: str) -> None:
    pd = start_pipedrive(limits_enabled=True, plan=plan, seats=seats)
    response = pd.get("/api/v2/persons/1")
    assert response.headers["x-ratelimit-limit"] == burst
    assert response.headers["x-daily-ratelimit-token-limit"] == budget


def test_plan_changes_at_run_time(limited: Pipedrive) -> None:
    changed = limited.admin("POST", "/pipedrive/config", json={"plan": "growth"})
    assert changed.status_code == 200 and changed.json()["effective_daily_budget"] == 60_000
    assert limited.get("/api/v2/persons/1").headers["x-ratelimit-limit"] == "40"
    refused = limited.admin("POST", "/pipedrive/config", json={"plan": "platinum"})
    assert refused.status_code == 400 and "unknown plan" in refused.json()["error"]
    assert limited.admin("POST", "/pipedrive/config", json={"no_such": 1}).status_code == 400
    assert limited.admin("GET", "/pipedrive/config").json()["plan"] == "growth"


# ------------------------------------------------------------------ budget
def test_daily_budget_exhaustion_and_midnight_reset(start_pipedrive: StartPipedrive) -> None:
    pd = start_pipedrive(limits_enabled=True, daily_budget=25)
    answers = [pd.get("/api/v2/persons") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]  # 10 + 10 + the one that crosses zero
    assert [remaining(a) for a in answers] == [15, 5, 0]
    spent = pd.get("/api/v2/persons/1")
    assert spent.status_code == 429 and remaining(spent) == 0
    assert spent.json()["error"] == "Request over limit"
    pd.clock.advance(12 * 3600)  # 2026-03-02T00:00Z: a new day, a new budget
    fresh = pd.get("/api/v2/persons/1")
    assert fresh.status_code == 200 and remaining(fresh) == 24


def test_setting_the_budget_resets_what_was_spent(start_pipedrive: StartPipedrive) -> None:
    pd = start_pipedrive(limits_enabled=True, daily_budget=10)
    pd.get("/api/v2/persons")
    assert pd.get("/api/v2/persons").status_code == 429
    pd.admin("POST", "/pipedrive/config", json={"daily_budget": 100})
    assert remaining(pd.get("/api/v2/persons")) == 90


@pytest.mark.parametrize(("method", "path", "cost"), [
    ("GET", "/api/v2/persons", 10), ("GET", "/api/v2/persons/1", 1), ("GET", "/api/v2/deals", 10),
    ("GET", "/api/v2/deals/archived", 20), ("GET", "/api/v2/activities/1", 1), ("GET", "/api/v2/pipelines", 5),
    ("GET", "/api/v2/stages", 5), ("GET", "/api/v2/dealFields", 10), ("GET", "/v1/leads", 20),
    ("GET", "/v1/leads/archived", 40), ("GET", "/api/v1/leadLabels", 10), ("GET", "/v1/users", 20),
    ("GET", "/v1/users/me", 2), ("GET", "/v1/activityTypes", 20), ("GET", "/v1/webhooks", 10),
    ("PATCH", "/api/v2/persons/1", 5), ("GET", "/api/v2/persons/99", 1),  # a 404 is charged too
])
def test_each_operation_charges_its_spec_cost(pd: Pipedrive, method: str, path: str, cost: int) -> None:
    before = remaining(pd.get("/v1/users/me"))
    response = pd.call(method, path, json={} if method == "PATCH" else None)
    assert before - remaining(response) == cost
    assert pd.admin("GET", "/pipedrive/usage").json()["tokens"]["api_token:1"]["tokens_spent"] == 2 + cost


def test_webhook_writes_cost(pd: Pipedrive) -> None:
    created = pd.call("POST", "/v1/webhooks", json={"subscription_url": "https://h.example.com/x", "name": "x",
                                                     "event_action": "*", "event_object": "*"})
    deleted = pd.call("DELETE", f"/v1/webhooks/{created.json()['data']['id']}")
    assert 30_000 - remaining(created) == 10 and remaining(created) - remaining(deleted) == 6


# ------------------------------------------------------------------ blocks
def test_hammering_after_429s_gets_a_cloudflare_403_page(start_pipedrive: StartPipedrive) -> None:
    pd = start_pipedrive(limits_enabled=True, burst_limit=1)
    assert pd.get("/api/v2/persons/1").status_code == 200
    statuses = [pd.get("/api/v2/persons/1").status_code for _ in range(11)]
    assert statuses == [429] * 11  # the 11th 429 within 10 s triggers the block
    blocked = pd.get("/api/v2/persons/1")
    assert blocked.status_code == 403
    assert blocked.headers["content-type"].startswith("text/html")
    assert "Access denied" in blocked.text and "Cloudflare" in blocked.text
    pd.clock.advance(59)
    assert pd.get("/api/v2/persons/1").status_code == 403
    usage = pd.admin("GET", "/pipedrive/usage").json()["tokens"]["api_token:1"]
    assert (usage["requests"], usage["responses_429"], usage["responses_403"], usage["blocked"]) == (1, 11, 2, True)
    pd.clock.advance(1)
    assert pd.get("/api/v2/persons/1").status_code == 200
    assert pd.admin("GET", "/counters").json()["limits:blocked_403"] == 2


def test_429s_spread_over_more_than_the_block_window_do_not_block(start_pipedrive: StartPipedrive) -> None:
    pd = start_pipedrive(limits_enabled=True, burst_limit=1)
    pd.get("/api/v2/persons/1")
    assert [pd.get("/api/v2/persons/1").status_code for _ in range(10)] == [429] * 10
    pd.clock.advance(10)
    assert pd.get("/api/v2/persons/1").status_code == 200
    assert pd.get("/api/v2/persons/1").status_code == 429  # 1 within the last 10 s, not 11


def test_block_settings_change_at_run_time(start_pipedrive: StartPipedrive) -> None:
    pd = start_pipedrive(limits_enabled=True, burst_limit=1)
    pd.admin("POST", "/pipedrive/config", json={"block_after_429s": 1, "block_seconds": 5})
    pd.get("/api/v2/persons/1")
    assert [pd.get("/api/v2/persons/1").status_code for _ in range(3)] == [429, 429, 403]
    pd.clock.advance(5)
    assert pd.get("/api/v2/persons/1").status_code == 200


def test_reset_usage_forgets_budget_windows_and_blocks(start_pipedrive: StartPipedrive) -> None:
    pd = start_pipedrive(limits_enabled=True, burst_limit=1, block_after_429s=0)
    pd.get("/api/v2/persons/1")
    assert pd.get("/api/v2/persons/1").status_code == 429
    assert pd.get("/api/v2/persons/1").status_code == 403
    report = pd.admin("POST", "/pipedrive/reset_usage").json()
    assert (report["tokens"], report["tokens_spent"], report["budget_remaining"]) == ({}, 0, 30_000)
    assert pd.get("/api/v2/persons/1").status_code == 200


# ---------------------------------------------------------------- headers
def test_rate_headers_on_every_api_answer(limited: Pipedrive) -> None:
    answers = [limited.get("/api/v2/persons"), limited.get("/api/v2/persons", params={"limit": 501}),
               limited.get("/api/v2/persons/99"), limited.get("/v1/leads"),
               limited.call("PATCH", "/api/v2/persons/1", json={"name": "Ada"})]
    assert [a.status_code for a in answers] == [200, 400, 404, 200, 200]
    for answer in answers:
        assert all(name in answer.headers for name in RATE_HEADERS), answer.headers
    unauthenticated = limited.get("/api/v2/persons", token=None)
    assert "x-daily-ratelimit-token-remaining" in unauthenticated.headers


def test_limits_off_counts_but_never_refuses(start_pipedrive: StartPipedrive) -> None:
    pd = start_pipedrive(limits_enabled=False, burst_limit=1, daily_budget=0)
    assert {pd.get("/api/v2/persons/1").status_code for _ in range(5)} == {200}
    assert pd.admin("GET", "/pipedrive/usage").json()["tokens"]["api_token:1"]["requests"] == 5


# ------------------------------------------------------------------ faults
def test_injected_faults_answer_in_pipedrive_shape(pd: Pipedrive) -> None:
    pd.admin("POST", "/faults", json={"storm_429": 2})
    storm = [pd.get("/api/v2/persons") for _ in range(3)]
    assert [s.status_code for s in storm] == [429, 429, 200]
    assert storm[0].json()["error"] == "Request over limit" and storm[0].headers["x-ratelimit-remaining"] == "0"
    pd.admin("POST", "/faults", json={"error_rate": 1.0})
    failed = pd.get("/api/v2/persons")
    assert failed.status_code in (500, 502, 503)
    assert failed.json()["success"] is False and failed.json()["error_info"] == "Please check developers.pipedrive.com"
    pd.admin("POST", "/faults", json={"reset": True})
    assert pd.get("/api/v2/nowhere").json()["error"] == "Unknown method ."
    assert pd.call("DELETE", "/api/v2/persons").status_code == 405
