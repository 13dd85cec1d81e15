"""The loader's rename and removal phases, against a recording stand-in for BrevoHook."""

from __future__ import annotations

import dataclasses

import pandas as pd

from pipedrive_brevo import sync_state
from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.load import load_run
from pipedrive_brevo.planning import desired_path
from pipedrive_brevo.storage import DataLocation


class Recorder:
    """Accepts every call and remembers it."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def update_contact(self, identifier, *, identifier_type=None, attributes=None):
        self.calls.append(("update", identifier, identifier_type, dict(attributes or {})))

    def remove_from_list(self, list_id, *, emails):
        self.calls.append(("remove", list_id, tuple(emails)))

    def add_to_list(self, list_id, *, emails):
        self.calls.append(("add", list_id, tuple(emails)))

    def delete_contact(self, identifier, identifier_type=None):
        self.calls.append(("delete", identifier))
        return True

    def send_events(self, events):  # pragma: no cover - the outbox is empty here
        raise AssertionError("no event was queued")


def contacts(rows):
    return pd.DataFrame({"email": pd.Series([r[0] for r in rows], dtype="string"),
                         "ext_id": pd.Series([r[1] for r in rows], dtype="string"),
                         "FIRSTNAME": pd.Series([r[2] for r in rows], dtype="string"),
                         "list_ids": [r[3] for r in rows]})


def test_renames_unlists_and_hard_deletes(tmp_path):
    store = DataLocation(str(tmp_path))
    # Brevo holds: ada (person 1) under her old email, bob (2) deleted in Pipedrive, cy (3) no longer synced
    sync_state.write_contacts(store, contacts([("ada@old.org", "1", "Ada", (60, 61)), ("bob@x.org", "2", "Bob", (60,)),
                                               ("cy@x.org", "3", "Cy", (60, 62))]))
    desired = contacts([("ada@new.org", "1", "Ada", (60, 61))])
    store.write_parquet(desired_path("r1", "contacts.parquet"), sync_state.storable(desired))
    store.write_json(desired_path("r1", "meta.json"), {"deleted_ext_ids": ["2"], "types": {"FIRSTNAME": "text"}})
    mapping = load_mapping()
    hard = dataclasses.replace(mapping, options=dataclasses.replace(mapping.options, delete_behavior="hard"))

    hook = Recorder()
    counts = load_run(hook, store, hard, "r1")

    assert hook.calls == [
        ("update", "1", "ext_id", {"EMAIL": "ada@new.org"}),  # renamed in place, found by ext_id
        ("remove", 60, ("cy@x.org",)),  # cy stopped being a contact: out of the mapped lists, not deleted
        ("remove", 62, ("cy@x.org",)),
        ("delete", "bob@x.org"),  # bob's person was deleted and delete_behavior is hard
    ]
    assert counts["renamed"] == 1 and counts["unlisted"] == 1 and counts["deleted"] == 1
    state = sync_state.read_contacts(store)
    assert state["email"].tolist() == ["ada@new.org"] and list(state["list_ids"][0]) == [60, 61]

    hook = Recorder()  # converged: a rerun of the same load sends nothing
    load_run(hook, store, hard, "r1")
    assert hook.calls == []
