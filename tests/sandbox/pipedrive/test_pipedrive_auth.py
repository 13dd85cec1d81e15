"""API token and OAuth 2.0 authentication, on the fake clock."""

from __future__ import annotations

import requests

from sandbox.pipedrive.config import DEFAULT_OAUTH_CLIENT_ID as CLIENT_ID
from sandbox.pipedrive.config import DEFAULT_OAUTH_CLIENT_SECRET as SECRET
from tests.sandbox.pipedrive.conftest import TOKEN, Pipedrive, StartPipedrive

UNAUTHORIZED = {"success": False, "error": "unauthorized access", "errorCode": 401,
                "error_info": "Please check developers.pipedrive.com", "data": None, "additional_data": None}


# --------------------------------------------------------------- API token
def test_api_token_header(pd: Pipedrive) -> None:
    assert pd.get("/api/v2/persons").status_code == 200
    for token in (None, "wrong-token"):
        response = pd.get("/api/v2/persons", token=token)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED
        assert response.headers["x-daily-ratelimit-token-remaining"] == "29990"  # only the first call cost


def test_query_token_is_refused_on_v2_accepted_on_v1_and_always_counted(pd: Pipedrive) -> None:
    assert pd.get("/api/v2/persons", token=None, params={"api_token": TOKEN}).status_code == 401
    assert pd.get("/v1/users/me", token=None, params={"api_token": TOKEN}).status_code == 200
    assert pd.get("/v1/users/me", token=None, params={"api_token": "wrong"}).status_code == 401
    assert pd.admin("GET", "/counters").json()["auth:query_token"] == 3
    assert pd.admin("GET", "/pipedrive/usage").json()["query_token_requests"] == 3


def test_several_tokens_are_counted_apart(start_pipedrive: StartPipedrive) -> None:
    pd = start_pipedrive(api_tokens=["first-token", "second-token"])
    assert pd.get("/api/v2/persons", token="second-token").status_code == 200
    assert pd.get("/api/v2/persons/1", token="second-token").status_code == 200
    assert pd.get("/api/v2/persons", token="first-token").status_code == 200
    tokens = pd.admin("GET", "/pipedrive/usage").json()["tokens"]
    assert {label: (t["requests"], t["tokens_spent"]) for label, t in tokens.items()} == {
        "api_token:1": (1, 10), "api_token:2": (2, 11)}
    assert "second-token" not in pd.admin("GET", "/pipedrive/usage").text


# ------------------------------------------------------------------- OAuth
def code(pd: Pipedrive) -> str:
    return pd.admin("POST", "/oauth/code").json()["code"]


def token_call(pd: Pipedrive, basic: bool = True, **form: str) -> requests.Response:
    auth = (CLIENT_ID, SECRET) if basic else None
    return pd.session.post(pd.url + "/oauth/token", data=form, auth=auth, timeout=10)


def bearer(pd: Pipedrive, access_token: str, path: str = "/api/v2/persons") -> requests.Response:
    return pd.get(path, token=None, headers={"Authorization": f"Bearer {access_token}"})


def test_authorization_code_exchange(pd: Pipedrive) -> None:
    response = token_call(pd, grant_type="authorization_code", code=code(pd), redirect_uri="https://app.example/cb")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope", "api_domain"}
    assert body["access_token"].startswith("v1u:")
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3599, "base")
    assert body["api_domain"] == pd.url  # this server, from the Host header
    answer = bearer(pd, body["access_token"])
    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-limit"] == "80"  # OAuth apps get 4x a token's burst on Lite
    assert "oauth:1" in pd.admin("GET", "/pipedrive/usage").json()["tokens"]


def test_codes_are_single_use_and_expire_after_five_minutes(pd: Pipedrive) -> None:
    once = code(pd)
    assert token_call(pd, grant_type="authorization_code", code=once).status_code == 200
    again = token_call(pd, grant_type="authorization_code", code=once)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    fresh, stale = code(pd), code(pd)
    pd.clock.advance(299)
    assert token_call(pd, grant_type="authorization_code", code=fresh).status_code == 200
    pd.clock.advance(1)
    assert token_call(pd, grant_type="authorization_code", code=stale).status_code == 400


def test_client_authentication(pd: Pipedrive) -> None:
    in_body = token_call(pd, basic=False, grant_type="authorization_code", code=code(pd), client_id=CLIENT_ID,
                         client_secret=SECRET)
    assert in_body.status_code == 200
    wrong = pd.session.post(pd.url + "/oauth/token", data={"grant_type": "authorization_code", "code": code(pd)},
                            auth=(CLIENT_ID, "not-the-secret"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "not-the-secret" not in wrong.text
    assert token_call(pd, grant_type="password", code=code(pd)).json()["error"] == "unsupported_grant_type"


def test_access_token_expiry_and_refresh(pd: Pipedrive) -> None:
    first = token_call(pd, grant_type="authorization_code", code=code(pd)).json()
    pd.clock.advance(3598)
    assert bearer(pd, first["access_token"]).status_code == 200
    pd.clock.advance(1)
    expired = bearer(pd, first["access_token"])
    assert expired.status_code == 401 and expired.json()["errorCode"] == 401
    refreshed = token_call(pd, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert refreshed["refresh_token"] == first["refresh_token"]  # Pipedrive returns the same one
    assert refreshed["access_token"] != first["access_token"]
    assert bearer(pd, refreshed["access_token"]).status_code == 200


def test_refresh_tokens_expire_after_sixty_idle_days(pd: Pipedrive) -> None:
    grant = token_call(pd, grant_type="authorization_code", code=code(pd)).json()
    pd.clock.advance(59 * 86_400)
    assert token_call(pd, grant_type="refresh_token", refresh_token=grant["refresh_token"]).status_code == 200
    pd.clock.advance(59 * 86_400)  # the use above restarted the 60 days
    assert token_call(pd, grant_type="refresh_token", refresh_token=grant["refresh_token"]).status_code == 200
    pd.clock.advance(60 * 86_400)
    late = token_call(pd, grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_admin_expires_every_access_token_and_ttl_changes_at_run_time(pd: Pipedrive) -> None:
    grant = token_call(pd, grant_type="authorization_code", code=code(pd)).json()
    assert pd.admin("POST", "/oauth/expire").json() == {"expired": 1}
    assert bearer(pd, grant["access_token"]).status_code == 401
    assert pd.admin("POST", "/pipedrive/config", json={"access_token_ttl": 60}).status_code == 200
    renewed = token_call(pd, grant_type="refresh_token", refresh_token=grant["refresh_token"]).json()
    assert renewed["expires_in"] == 60
    pd.clock.advance(60)
    assert bearer(pd, renewed["access_token"]).status_code == 401
