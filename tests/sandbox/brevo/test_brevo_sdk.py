"""The official ``brevo-python`` 5.1.0 SDK works against the sandbox, wire shapes and all."""

from __future__ import annotations

import time
from typing import Any

import pytest
from brevo import Brevo
from brevo.contacts.types import (
    AddContactToListRequestBodyEmails,
    RemoveContactFromListRequestBodyIds,
)
from brevo.contacts.types.import_contacts_request_json_body_item import (
    ImportContactsRequestJsonBodyItem,
)
from brevo.core.api_error import ApiError
from brevo.event.types.create_batch_events_request_events_item import (
    CreateBatchEventsRequestEventsItem,
)
from brevo.event.types.create_batch_events_request_events_item_identifiers import (
    CreateBatchEventsRequestEventsItemIdentifiers,
)
from brevo.event.types.create_event_request_identifiers import (
    CreateEventRequestIdentifiers,
)

API_KEY = "xkeysib-sandbox-key"


@pytest.fixture
def client(brevo: Any) -> Brevo:
    return Brevo(api_key=API_KEY, base_url=brevo.url + "/v3", max_retries=0, timeout=10)


def test_contacts(client: Brevo, brevo: Any) -> None:
    created = client.contacts.create_contact(email="ann@x.io", ext_id="pd-1",
                                             attributes={"FIRSTNAME": "Ann", "SMS": "+33612345678"})
    assert created is not None and created.id == 1
    assert client.contacts.create_contact(email="ann@x.io", update_enabled=True,
                                          attributes={"LASTNAME": "Lee"}) is None  # 204
    info = client.contacts.get_contact_info("pd-1", identifier_type="ext_id")
    assert info.email == "ann@x.io"
    assert info.attributes is not None
    client.contacts.update_contact("ann@x.io", attributes={"FIRSTNAME": "Anna"})
    assert brevo.contact("ann@x.io")["attributes"]["FIRSTNAME"] == "Anna"
    listed = client.contacts.get_contacts(limit=10, sort="asc")
    assert listed.count == 1
    with pytest.raises(ApiError) as duplicate:
        client.contacts.create_contact(email="bob@x.io", attributes={"SMS": "+33612345678"})
    assert duplicate.value.status_code == 400
    assert duplicate.value.body["code"] == "duplicate_parameter"
    client.contacts.delete_contact(1)
    with pytest.raises(ApiError) as missing:
        client.contacts.get_contact_info("ann@x.io")
    assert missing.value.status_code == 404


def test_attributes_and_lists(client: Brevo, brevo: Any) -> None:
    client.contacts.create_attribute("normal", "LTV", type="float")
    names = [a.name for a in client.contacts.get_attributes().attributes]
    assert "LTV" in names and "FIRSTNAME" in names
    list_id = client.contacts.create_list(name="Customers", folder_id=1).id
    assert [cl.id for cl in client.contacts.get_lists().lists or []] == [list_id]
    client.contacts.create_contact(email="ann@x.io")
    added = client.contacts.add_contact_to_list(list_id, request=AddContactToListRequestBodyEmails(emails=["ann@x.io"]))
    assert added.contacts.success == ["ann@x.io"]
    removed = client.contacts.remove_contact_from_list(list_id, request=RemoveContactFromListRequestBodyIds(ids=[1]))
    assert removed.contacts.success == [1]
    assert brevo.contact("ann@x.io")["listIds"] == []


def test_import_and_process(client: Brevo, brevo: Any) -> None:
    brevo.seed_list(2)
    started = client.contacts.import_contacts(
        list_ids=[2], json_body=[ImportContactsRequestJsonBodyItem(email="a@x.io", attributes={"FIRSTNAME": "A"}),
                                 ImportContactsRequestJsonBodyItem(email="not-an-email")])
    deadline = time.monotonic() + 10
    while (process := client.process.get_process(started.process_id)).status != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert process.info is not None and process.info.import_ is not None
    assert process.info.import_.invalid_emails.endswith("/invalid_emails.csv")
    assert process.info.import_.duplicate_email_id is None
    assert brevo.contact("a@x.io")["attributes"] == {"FIRSTNAME": "A"}


def test_events(client: Brevo, brevo: Any) -> None:
    client.event.create_event(event_name="deal_won", identifiers=CreateEventRequestIdentifiers(email_id="a@x.io"),
                              event_properties={"deal_id": 7})
    accepted = client.event.create_batch_events(events=[
        CreateBatchEventsRequestEventsItem(event_name="deal_lost",
                                           identifiers=CreateBatchEventsRequestEventsItemIdentifiers(ext_id="1"))])
    assert accepted.count == 1
    names = [e["event_name"] for e in brevo.admin("GET", "/brevo/events").json()["events"]]
    assert names == ["deal_won", "deal_lost"]


def test_companies(client: Brevo, brevo: Any) -> None:
    client.contacts.create_contact(email="ann@x.io")
    company_id = client.companies.create_a_company(name="Acme", attributes={"domain": "acme.io"}).id
    client.companies.link_and_unlink_company_with_contact_and_deal(company_id, link_contact_ids=[1])
    company = client.companies.get_a_company(company_id)
    assert company.linked_contacts_ids == [1]
    assert company.attributes["name"] == "Acme"
    assert company.attributes["domain"] == "acme.io"
    page = client.companies.get_all_companies(limit=10)
    assert [c.id for c in page.items or []] == [company_id]
