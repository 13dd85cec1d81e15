"""Fixtures for the Pipedrive sandbox tests: a small hand-built account, a fake clock, a client.

The account is small enough to compute every expectation by hand (see the comments on each
record); the clock is fake so token lifetimes, rate windows and blocks move without waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from sandbox.generator import Account
from sandbox.pipedrive import PipedriveConfig, create_app, defaults
from sandbox.pipedrive.app import PipedriveApp
from sandbox.server import SandboxServer

TOKEN = "sandbox-pipedrive-token"
SOURCE = "a" * 40  # enum custom field "Lead source": 1 Inbound, 2 Outbound
INTERESTS = "b" * 40  # set custom field "Interests": 10 Email, 11 Phone
NOTE = "c" * 40  # text custom field "Note"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()


def ts(day: int, hour: int = 10, month: int = 1, second: int = 0) -> str:
    return f"2026-{month:02d}-{day:02d}T{hour:02d}:00:{second:02d}Z"


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def person(id_: int, name: str, *, org_id: int, update_time: str, owner_id: int = 1, deleted: bool = False,
           add_time: str = "2025-12-01T09:00:00Z", custom: dict[str, Any] | None = None,
           email: str | None = None) -> dict[str, Any]:
    first, _, last = name.partition(" ")
    return {"id": id_, "name": name, "first_name": first, "last_name": last or first, "owner_id": owner_id,
            "org_id": org_id, "add_time": add_time, "update_time": update_time,
            "emails": [{"value": email or f"{first.lower()}@example.com", "primary": True, "label": "work"}],
            "phones": [{"value": f"+4930123{id_:04d}", "primary": True, "label": "work"}],
            "is_deleted": deleted, "visible_to": 3, "label_ids": [1] if id_ % 2 else [],
            "custom_fields": custom if custom is not None else {SOURCE: None, INTERESTS: None, NOTE: None}}


def organization(id_: int, name: str, *, update_time: str, deleted: bool = False) -> dict[str, Any]:
    return {"id": id_, "name": name, "owner_id": 1, "add_time": "2025-11-01T09:00:00Z", "update_time": update_time,
            "is_deleted": deleted, "visible_to": 3, "label_ids": [], "website": None, "custom_fields": {}}


def deal(id_: int, person_id: int, status: str, *, update_time: str, value: float = 100.0, org_id: int = 1,
         stage_id: int = 1, archived: bool = False, deleted: bool = False) -> dict[str, Any]:
    return {"id": id_, "title": f"Deal {id_}", "owner_id": 1, "person_id": person_id, "org_id": org_id,
            "pipeline_id": 1, "stage_id": stage_id, "value": value, "currency": "EUR",
            "add_time": "2025-12-15T09:00:00Z", "update_time": update_time, "stage_change_time": update_time,
            "is_deleted": deleted, "is_archived": archived, "status": status, "probability": None,
            "lost_reason": None, "visible_to": 3, "close_time": None, "label_ids": [], "custom_fields": {}}


def activity(id_: int, *, person_id: int, update_time: str, due_date: str, done: bool, deal_id: int | None = None,
             org_id: int = 1, deleted: bool = False) -> dict[str, Any]:
    record = {"id": id_, "subject": f"Call {id_}", "type": "call", "owner_id": 1, "creator_user_id": 1,
              "is_deleted": deleted, "add_time": "2025-12-20T09:00:00Z", "update_time": update_time,
              "person_id": person_id, "org_id": org_id, "due_date": due_date, "due_time": "09:00:00",
              "duration": "00:30:00", "busy": False, "done": done,
              "participants": [{"person_id": person_id, "primary": True}], "note": ""}
    if deal_id is not None:
        record["deal_id"] = deal_id
    return record


def lead(id_: str, title: str, *, add_time: str, update_time: str, person_id: int | None = None,
         organization_id: int | None = None, archived: bool = False, owner_id: int = 1) -> dict[str, Any]:
    return {"id": id_, "title": title, "owner_id": owner_id, "creator_id": 1, "label_ids": [],
            "person_id": person_id, "organization_id": organization_id, "source_name": "API", "origin": "API",
            "origin_id": None, "channel": None, "channel_id": None, "source_deal_id": None, "is_archived": archived,
            "was_seen": False, "value": {"amount": 500, "currency": "EUR"}, "expected_close_date": None,
            "next_activity_id": None, "add_time": add_time, "update_time": update_time, "visible_to": "3",
            "cc_email": "sandbox+lead@pipedrivemail.com"}


LEAD_1 = "00000000-0000-4000-8000-000000000001"
LEAD_2 = "00000000-0000-4000-8000-000000000002"
LEAD_3 = "00000000-0000-4000-8000-000000000003"


def person_fields() -> list[dict[str, Any]]:
    def custom(name: str, code: str, field_type: str, options: list[tuple[int, str]] | None = None) -> dict[str, Any]:
        return {"field_name": name, "field_code": code, "description": f"Custom field {name}", "field_type": field_type,
                "options": [{"id": i, "label": label} for i, label in options] if options else None,
                "subfields": None, "is_custom_field": True, "is_optional_response_field": False,
                "ui_visibility": {"add_visible_flag": True, "details_visible_flag": True}}

    return [*defaults.person_fields(),
            custom("Lead source", SOURCE, "enum", [(1, "Inbound"), (2, "Outbound")]),
            custom("Interests", INTERESTS, "set", [(10, "Email"), (11, "Phone")]),
            custom("Note", NOTE, "text")]


def small_account() -> Account:
    """Six persons, three organizations, six deals, five activities, three leads; the rest a fresh company's.

    Person 1 (Ada) is the one with history: deals 1 open, 2 won, 3 lost, 4 won but archived,
    5 won but deleted; activities 1 done (due 01-05), 2 undone (due 02-01), 3 undone (due 01-20),
    4 deleted. So: open 1, won 2, lost 1, closed 3, activities 3, done 1, undone 2, next 3, last 1.
    Persons 1 and 6 share an update_time (ties order by id); person 5 is deleted.
    """
    return Account(
        persons=[
            person(1, "Ada Lovelace", org_id=1, update_time=ts(1), custom={SOURCE: 1, INTERESTS: [10, 11], NOTE: "vip"}),
            person(2, "Bob Byte", org_id=1, owner_id=2, update_time=ts(2)),
            person(3, "Cy Cypher", org_id=2, update_time=ts(3)),
            person(4, "Di Data", org_id=2, update_time=ts(3, hour=11)),
            person(5, "Ed Erased", org_id=1, update_time=ts(4), deleted=True),
            person(6, "Flo Flow", org_id=1, update_time=ts(1)),
        ],
        organizations=[organization(1, "Acme", update_time=ts(1)), organization(2, "Globex", update_time=ts(2)),
                       organization(3, "Gone Ltd", update_time=ts(3), deleted=True)],
        deals=[
            deal(1, 1, "open", update_time=ts(5)),
            deal(2, 1, "won", update_time=ts(6), value=250.0),
            deal(3, 1, "lost", update_time=ts(7)),
            deal(4, 1, "won", update_time=ts(8), archived=True),
            deal(5, 1, "won", update_time=ts(9), deleted=True),
            deal(6, 2, "open", update_time=ts(10), stage_id=2),
        ],
        activities=[
            activity(1, person_id=1, deal_id=1, update_time=ts(5), due_date="2026-01-05", done=True),
            activity(2, person_id=1, deal_id=1, update_time=ts(6), due_date="2026-02-01", done=False),
            activity(3, person_id=1, update_time=ts(7), due_date="2026-01-20", done=False),
            activity(4, person_id=1, update_time=ts(8), due_date="2026-01-02", done=True, deleted=True),
            activity(5, person_id=2, update_time=ts(9), due_date="2026-01-10", done=True),
        ],
        leads=[
            lead(LEAD_1, "Lead one", add_time="2026-01-01T08:00:00.000Z", update_time="2026-01-10T08:00:00.000Z",
                 person_id=1),
            lead(LEAD_2, "Lead two", add_time="2026-01-02T08:00:00.000Z", update_time="2026-01-11T08:00:00.000Z",
                 person_id=2, archived=True),
            lead(LEAD_3, "Lead three", add_time="2025-12-01T08:00:00.000Z",
                 update_time="2026-02-01T08:00:00.000Z", organization_id=1, owner_id=2),
        ],
        pipelines=defaults.pipelines(),
        stages=defaults.stages(),
        person_fields=person_fields(),
        deal_fields=defaults.deal_fields(),
        organization_fields=defaults.organization_fields(),
        users=defaults.users(),
        activity_types=defaults.activity_types(),
        lead_labels=defaults.lead_labels(),
        company_domain="handmade",
    )


@dataclass
class Pipedrive:
    """A running sandbox: ``get``/``call`` reach the API with a token, ``admin`` the admin endpoints."""

    server: SandboxServer
    app: PipedriveApp
    clock: FakeClock
    session: requests.Session

    @property
    def url(self) -> str:
        return self.server.url

    def call(self, method: str, path: str, *, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["x-api-token"] = token
        return self.session.request(method, self.url + path, headers=headers, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def ok(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.get(path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.url + "/__admin" + path, timeout=10, **kwargs)

    def scan(self, path: str, **query: Any) -> list[dict[str, Any]]:
        """Follow ``next_cursor`` to the end; every record of every page, in order."""
        records: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = dict(query, **({"cursor": cursor} if cursor else {}))
            body = self.ok(path, params=params)
            records.extend(body["data"])
            cursor = body["additional_data"]["next_cursor"]
            if cursor is None:
                return records


StartPipedrive = Callable[..., Pipedrive]


@pytest.fixture
def start_pipedrive(serve: Callable[[Any], SandboxServer]) -> Iterator[StartPipedrive]:
    """``start_pipedrive(account=..., **config)``: a sandbox on the fake clock; limits off unless asked."""
    sessions: list[requests.Session] = []

    def start(account: Any = "small", clock: FakeClock | None = None, **config: Any) -> Pipedrive:
        config.setdefault("limits_enabled", False)
        clock = clock or FakeClock()
        app = create_app(small_account() if account == "small" else account, PipedriveConfig(**config), clock=clock)
        sessions.append(requests.Session())
        return Pipedrive(serve(app), app, clock, sessions[-1])

    yield start
    for session in sessions:
        session.close()


@pytest.fixture
def pd(start_pipedrive: StartPipedrive) -> Pipedrive:
    """The small account, limits off."""
    return start_pipedrive()
