"""Registration of Pipedrive webhooks from the mapping's webhooks section, on the Pipedrive sandbox."""

from __future__ import annotations

import json
import logging

import pytest

from pipedrive_brevo.config import WebhookRule, load_mapping
from pipedrive_brevo.hooks.connection import ConnectionConfigError
from pipedrive_brevo.hooks.pipedrive import PipedriveHook
from pipedrive_brevo.webhook_registration import (
    WebhookLimitError,
    receiver_url,
    register_webhooks,
    wanted_pairs,
)
from tests.support.dag_runs import run_dag
from tests.support.sandboxes import FAST_RETRY

URL = "https://airflow.example.com/pipedrive/webhooks"
PASSWORD = "s3cret-webhook-password"

# the shipped mapping: added/updated person, added/updated deal, merged person, added activity
SHIPPED = [("change", "deal"), ("change", "person"), ("create", "activity"), ("create", "deal"),
           ("create", "person"), ("delete", "person")]


def stored(sandbox) -> list[dict]:
    return sandbox.admin("GET", "/pipedrive/webhooks")


def test_wanted_pairs_from_v1_and_v2_rules_and_wildcards():
    assert wanted_pairs(load_mapping().webhooks) == SHIPPED
    rules = [WebhookRule("updated", "deal", "a"), WebhookRule("*", "deal", "b"), WebhookRule("delete", "person", "c"),
             WebhookRule("delete", "*", "d")]
    assert wanted_pairs(rules) == [("*", "deal"), ("delete", "*")]  # what a '*' covers is left out


def test_receiver_url_from_the_connection_and_https_only():
    assert receiver_url("https://airflow.example.com") == URL
    assert receiver_url("airflow.example.com", 8443) == "https://airflow.example.com:8443/pipedrive/webhooks"
    assert receiver_url("http://127.0.0.1:8080/pipedrive/webhooks") == "http://127.0.0.1:8080/pipedrive/webhooks"
    with pytest.raises(ConnectionConfigError, match="plain http"):
        receiver_url("http://airflow.example.com")
    with pytest.raises(ConnectionConfigError, match="no host"):
        receiver_url(None)


def test_creates_missing_keeps_matching_and_removes_our_stale_ones(pipedrive, caplog):
    sandbox = pipedrive(None)
    hook = PipedriveHook(retry=FAST_RETRY)
    foreign = hook.create_webhook("https://other.example.com/hook", "*", "deal", "someone else's")
    ours_stale = hook.create_webhook(URL, "create", "note", "pipedrive_brevo create.note")
    ours_v1 = hook.create_webhook(URL, "change", "deal", "old v1 hook", version="1.0")

    with caplog.at_level(logging.DEBUG):
        counts = register_webhooks(hook, load_mapping().webhooks, URL, http_auth_user="pipedrive",
                                   http_auth_password=PASSWORD)
    assert counts == {"kept": 0, "created": 6, "deleted": 2, "total_after": 7}
    hooks = stored(sandbox)
    ours = [h for h in hooks if h["subscription_url"] == URL]
    assert sorted((h["event_action"], h["event_object"]) for h in ours) == SHIPPED
    assert all(h["version"] == "2.0" and h["http_auth_user"] == "pipedrive" and h["http_auth_password"] == PASSWORD
               for h in ours)
    assert {h["id"] for h in hooks} >= {foreign["id"]}  # another URL's webhook is never touched
    assert not {ours_stale["id"], ours_v1["id"]} & {h["id"] for h in hooks}
    assert PASSWORD not in caplog.text

    # a second run changes nothing
    before = len(stored(sandbox))
    again = register_webhooks(hook, load_mapping().webhooks, URL, http_auth_user="pipedrive",
                              http_auth_password=PASSWORD)
    assert again == {"kept": 6, "created": 0, "deleted": 0, "total_after": 7}
    assert len(stored(sandbox)) == before
    # a new password: Pipedrive never shows the stored one, so ours are replaced
    old_ids = {h["id"] for h in stored(sandbox) if h["subscription_url"] == URL}
    assert register_webhooks(hook, load_mapping().webhooks, URL, http_auth_user="pipedrive",
                              http_auth_password="new-" + PASSWORD, replace=True)["deleted"] == 6
    ours = [h for h in stored(sandbox) if h["subscription_url"] == URL]
    assert len(ours) == 6 and {h["http_auth_password"] for h in ours} == {"new-" + PASSWORD}
    assert not old_ids & {h["id"] for h in ours}


def test_stops_before_any_write_when_the_limit_would_pass(pipedrive):
    sandbox = pipedrive(None)
    hook = PipedriveHook(retry=FAST_RETRY)
    for i in range(35):
        hook.create_webhook(f"https://other.example.com/hook/{i}", "create", "deal", f"other {i}")
    ids = sorted(h["id"] for h in stored(sandbox))
    with pytest.raises(WebhookLimitError, match=r"35 other webhook\(s\): 41 in all, over Pipedrive's limit of 40"):
        register_webhooks(hook, load_mapping().webhooks, URL, http_auth_user="u", http_auth_password=PASSWORD)
    assert sorted(h["id"] for h in stored(sandbox)) == ids  # nothing created, nothing deleted
    # with room for exactly six it works (35 + 6 = 41 would not; 34 + 6 = 40 does)
    hook.delete_webhook(ids[0])
    assert register_webhooks(hook, load_mapping().webhooks, URL, http_auth_user="u",
                             http_auth_password=PASSWORD)["total_after"] == 40


def test_the_setup_dag_reads_the_receiver_from_the_connection(airflow_db, pipedrive, monkeypatch):
    sandbox = pipedrive(None)
    monkeypatch.setenv("AIRFLOW_CONN_PIPEDRIVE_WEBHOOK", json.dumps(
        {"conn_type": "http", "host": "https://airflow.example.com", "login": "pd", "password": PASSWORD}))
    dag_run = run_dag(dag_id="pipedrive_webhooks_setup")
    assert dag_run.state == "success"
    hooks = stored(sandbox)
    assert sorted((h["event_action"], h["event_object"]) for h in hooks) == SHIPPED
    assert {h["subscription_url"] for h in hooks} == {URL} and {h["http_auth_user"] for h in hooks} == {"pd"}
