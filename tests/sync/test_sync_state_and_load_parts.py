"""The sync state's files, the Brevo set-up checks and the loader's value conversions, without Airflow."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipedrive_brevo import brevo_setup, sync_state
from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.load import brevo_event, brevo_value
from pipedrive_brevo.storage import DataLocation
from pipedrive_brevo.transform.events import EVENT_COLUMNS


@pytest.fixture
def store(tmp_path):
    return DataLocation(str(tmp_path))


def _events(*ids: str) -> pd.DataFrame:
    return pd.DataFrame({c: [f"{c}-{i}" for i in ids] for c in EVENT_COLUMNS}).assign(
        event_id=list(ids), properties=['{"deal_id":7}'] * len(ids)).astype("string")


def test_queued_events_are_kept_once_and_sent_ones_never_again(store):
    assert len(sync_state.queue_events(store, _events("a", "b"))) == 2
    assert len(sync_state.queue_events(store, _events("b", "c"))) == 3  # b was queued already
    sync_state.record_sent_events(store, ["a", "c"])
    assert sync_state.read_outbox(store)["event_id"].tolist() == ["b"]
    assert sorted(sync_state.read_sent_event_ids(store)) == ["a", "c"]
    assert len(sync_state.queue_events(store, _events("a", "c"))) == 1  # sent: not queued again


def test_contacts_round_trip_with_tuples(store):
    frame = pd.DataFrame({"email": pd.Series(["a@x.org"], dtype="string"), "ext_id": pd.Series(["1"], dtype="string"),
                          "TAGS": pd.Series([("VIP", "EU")], dtype="object"), "list_ids": [(60, 62)]})
    assert sync_state.read_contacts(store) is None
    sync_state.write_contacts(store, frame)
    back = sync_state.read_contacts(store)
    assert list(back["list_ids"][0]) == [60, 62] and list(back["TAGS"][0]) == ["VIP", "EU"]


def test_first_sync_is_known_by_the_meta_file(store):
    assert not sync_state.has_synced(store)
    sync_state.write_meta(store, events_since="2026-11-24T07:00:00+00:00")
    sync_state.write_meta(store, last_planned_run="r2")
    assert sync_state.has_synced(store)
    assert sync_state.read_meta(store) == {"events_since": "2026-11-24T07:00:00+00:00", "last_planned_run": "r2"}


def test_a_missing_list_is_named_with_its_mapping_key():
    mapping = load_mapping()
    existing = [{"id": i} for i in (60, 61, 62, 63, 65)]
    with pytest.raises(brevo_setup.MissingListError) as error:
        brevo_setup.check_lists(mapping, existing)
    assert "list 64 (deal_stage_mapping.lost)" in str(error.value) and "pipedrive_brevo.yaml" in str(error.value)
    brevo_setup.check_lists(mapping, existing + [{"id": 64}])  # all there: no error


def test_attribute_types_read_brevo_spellings():
    found = brevo_setup.attribute_types([
        {"name": "firstname", "category": "normal", "type": "text"},
        {"name": "LTV", "category": "normal", "type": "float"},
        {"name": "STAGE", "category": "category", "enumeration": [{"value": 1, "label": "A"}]},
        {"name": "TAGS", "category": "normal", "type": "multiple-choice"},
    ])
    assert found == {"FIRSTNAME": "text", "LTV": "float", "STAGE": "category", "TAGS": "multiple-choice"}


def test_values_are_sent_as_brevo_takes_them():
    assert brevo_value(np.float64(3.0)) == 3 and isinstance(brevo_value(np.float64(3.0)), int)
    assert brevo_value(2.5) == 2.5
    assert brevo_value(pd.NA) == ""  # a changed attribute without a value clears it
    assert brevo_value(("VIP", "EU")) == ["VIP", "EU"]
    assert brevo_value(np.bool_(True)) is True


def test_an_outbox_row_becomes_a_brevo_event():
    row = {"event_name": "deal_won", "email": "a@x.org", "ext_id": "12", "event_date": "2026-11-20T10:00:00Z",
           "properties": json.dumps({"deal_id": 7, "value": 100})}
    assert brevo_event(row) == {"event_name": "deal_won", "identifiers": {"email_id": "a@x.org", "ext_id": "12"},
                                "event_properties": {"deal_id": 7, "value": 100},
                                "event_date": "2026-11-20T10:00:00Z"}
