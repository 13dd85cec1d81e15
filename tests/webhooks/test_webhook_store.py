"""The webhook event store: layout, oldest-first pending, applied markers and the hour watermark."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pipedrive_brevo import webhook_store as ws
from pipedrive_brevo.storage import DataLocation

T0 = datetime(2026, 11, 24, 9, 15, 0, 123456, tzinfo=UTC)


@pytest.fixture
def store(tmp_path) -> DataLocation:
    return DataLocation(str(tmp_path))


def test_append_writes_the_body_in_a_time_partitioned_sortable_key(store):
    event = ws.append_event(store, "pipedrive", {"meta": {"id": "e1"}, "data": {"id": 5}}, received_at=T0)

    assert event.key.startswith("webhooks/pipedrive/2026/11/24/09/20261124T091500123456Z-")
    assert event.key.endswith(".json")
    assert event.received_at == T0 and event.source == "pipedrive"
    assert json.loads(store.read_bytes(event.key)) == {"meta": {"id": "e1"}, "data": {"id": 5}}
    assert ws.received_at_of(event.key) == T0


def test_pending_is_oldest_first_across_hours_and_days_and_honours_limit(store):
    times = [T0 + timedelta(hours=25), T0, T0 + timedelta(minutes=1), T0 + timedelta(hours=1)]
    for n, moment in enumerate(times):
        ws.append_event(store, "brevo", {"n": n}, received_at=moment)

    pending = ws.pending_events(store, "brevo")
    assert [e.body["n"] for e in pending] == [1, 2, 3, 0]
    assert [e.received_at for e in pending] == sorted(times)
    assert [e.body["n"] for e in ws.pending_events(store, "brevo", limit=2)] == [1, 2]
    assert ws.pending_events(store, "brevo", limit=0) == []
    assert ws.pending_events(store, "pipedrive") == []  # sources are kept apart


def test_duplicates_are_stored_twice_and_applied_keys_leave_pending_once(store):
    body = {"meta": {"id": "same"}}
    first = ws.append_event(store, "pipedrive", body, received_at=T0)
    second = ws.append_event(store, "pipedrive", body, received_at=T0)
    assert first.key != second.key

    ws.mark_applied(store, "pipedrive", [first.key], now=T0)
    ws.mark_applied(store, "pipedrive", [first.key], now=T0)  # idempotent
    assert [e.key for e in ws.pending_events(store, "pipedrive")] == [second.key]


def test_mark_applied_rejects_a_key_that_is_not_an_event_of_that_source(store):
    event = ws.append_event(store, "brevo", {"x": 1}, received_at=T0)
    with pytest.raises(ValueError, match="not a stored pipedrive webhook event key"):
        ws.mark_applied(store, "pipedrive", [event.key])
    with pytest.raises(ValueError, match="unknown webhook source 'hubspot'"):
        ws.append_event(store, "hubspot", {})
    with pytest.raises(ValueError, match="no time zone"):
        ws.append_event(store, "brevo", {}, received_at=datetime(2026, 11, 24, 9))


def test_an_hour_closes_only_when_complete_and_old_so_a_late_write_is_not_missed(store):
    a = ws.append_event(store, "pipedrive", {"n": "a"}, received_at=T0)            # hour 09
    b = ws.append_event(store, "pipedrive", {"n": "b"}, received_at=T0 + timedelta(hours=1))  # hour 10

    # at 10:30 hour 09 has ended but not CLOSE_AFTER ago: both applied, nothing closes yet
    ws.mark_applied(store, "pipedrive", [a.key, b.key], now=T0.replace(hour=10, minute=30))
    assert store.read_json("state/webhooks/pipedrive/watermark.json") is None
    # a slow writer stamped 09:59 lands after hour 10 was applied: still pending
    late = ws.append_event(store, "pipedrive", {"n": "late"}, received_at=T0.replace(minute=59))
    assert [e.key for e in ws.pending_events(store, "pipedrive")] == [late.key]

    # at 12:00 hour 09 is old enough but holds an unapplied event: it stays open
    ws.mark_applied(store, "pipedrive", [], now=T0.replace(hour=12, minute=0))
    assert store.read_json("state/webhooks/pipedrive/watermark.json") is None

    ws.mark_applied(store, "pipedrive", [late.key], now=T0.replace(hour=12, minute=0))
    # 09 ended at 10:00, +1 h = 11:00 <= 12:00 -> closed; 10 ends 11:00, +1 h = 12:00 <= 12:00 -> closed
    assert store.read_json("state/webhooks/pipedrive/watermark.json") == {"closed_through": "2026/11/24/10"}
    assert store.list("state/webhooks/pipedrive/applied/") == []  # markers of closed hours are dropped
    assert ws.pending_events(store, "pipedrive") == []
    # marking an event of a closed hour again is harmless
    ws.mark_applied(store, "pipedrive", [a.key], now=T0.replace(hour=12))
    assert ws.pending_events(store, "pipedrive") == []


def test_pending_does_not_open_closed_hours(store, monkeypatch):
    keys = [ws.append_event(store, "brevo", {"h": h}, received_at=T0 + timedelta(hours=h)).key
            for h in range(30)]
    ws.mark_applied(store, "brevo", keys[:-1], now=T0 + timedelta(days=3))
    assert store.read_json("state/webhooks/brevo/watermark.json") == {"closed_through": "2026/11/25/13"}

    listed: list[str] = []
    real_ls = store.fs.ls

    def spy(path, detail=False, **kw):
        listed.append(path)
        return real_ls(path, detail=detail, **kw)

    monkeypatch.setattr(store.fs, "ls", spy)
    assert [e.body["h"] for e in ws.pending_events(store, "brevo")] == [29]
    hours_listed = [p for p in listed if p.count("/2026/") and len(p.split("/2026/")[1].split("/")) == 3]
    assert [p.rsplit("/2026/", 1)[1] for p in hours_listed] == ["11/25/14"]
    # only the still-open day of the 2 days is descended into
    assert not any(p.endswith("/2026/11/24") for p in listed)


def test_quarantine_keeps_bytes_and_reason_apart_from_pending(store):
    key = ws.quarantine(store, "brevo", b"{not json", "body is not JSON: Expecting property name",
                        received_at=T0)
    assert key.startswith("webhooks/brevo/quarantine/2026/11/24/20261124T091500123456Z-")
    assert store.read_bytes(key) == b"{not json"
    meta = store.read_json(key.removesuffix(".body") + ".json")
    assert meta["reason"] == "body is not JSON: Expecting property name" and meta["size"] == 9
    assert ws.pending_events(store, "brevo") == []
