"""A small plan is upserted contact by contact: no import, so no status polls in Brevo's 100-an-hour bucket."""

from __future__ import annotations

import pandas as pd
import pytest

from pipedrive_brevo import sync_state
from pipedrive_brevo.config import load_mapping
from pipedrive_brevo.hooks.brevo import BrevoHook
from pipedrive_brevo.load import load_run
from pipedrive_brevo.planning import desired_path
from pipedrive_brevo.storage import DataLocation


def contacts(rows) -> pd.DataFrame:
    return pd.DataFrame({"email": pd.Series([r[0] for r in rows], dtype="string"),
                         "ext_id": pd.Series([r[1] for r in rows], dtype="string"),
                         "FIRSTNAME": pd.Series([r[2] for r in rows], dtype="string"),
                         "list_ids": [r[3] for r in rows]})


def plan(store: DataLocation, run_id: str) -> None:
    """Brevo holds ada (with a first name); the run clears her first name and adds bob."""
    store.write_parquet(desired_path(run_id, "contacts.parquet"), sync_state.storable(
        contacts([("ada@x.org", "1", None, (60,)), ("bob@x.org", "2", "Bob", (60, 61))])))
    store.write_json(desired_path(run_id, "meta.json"), {"deleted_ext_ids": [], "types": {"FIRSTNAME": "text"}})


@pytest.mark.parametrize("singles_up_to, expected", [
    (20, {"write:POST /v3/contacts": 2, "write:POST /v3/contacts/lists/{listId}/contacts/add": 1}),
    (0, {"write:POST /v3/contacts/import": 1, "write:POST /v3/contacts/lists/{listId}/contacts/add": 1}),
])
def test_a_small_plan_skips_the_import_and_ends_the_same(brevo, tmp_path, singles_up_to, expected):
    sandbox = brevo()
    for list_id in (60, 61):
        sandbox.admin("POST", "/brevo/lists", {"id": list_id, "name": f"List {list_id}", "folderId": 1})
    hook = BrevoHook()
    hook.create_contact(email="ada@x.org", ext_id="1", attributes={"FIRSTNAME": "Ada"}, list_ids=[60])
    store = DataLocation(str(tmp_path))
    sync_state.write_contacts(store, contacts([("ada@x.org", "1", "Ada", (60,))]))
    plan(store, "r1")
    before = sandbox.counters()

    counts = load_run(BrevoHook(), store, load_mapping(), "r1", single_upserts_up_to=singles_up_to)

    after = sandbox.counters()
    sent = {k: after[k] - before.get(k, 0) for k in after if k.startswith("write:") and after[k] != before.get(k, 0)}
    assert sent == expected
    polls = after.get("route:GET /v3/processes/{processId}", 0) - before.get("route:GET /v3/processes/{processId}", 0)
    assert (polls == 0) == (singles_up_to > 0)  # the import is followed by its status polls
    assert counts["created"] == 1 and counts["updated"] == 1 and counts["list_adds"] == 2
    found = {c["email"]: c for c in sandbox.admin("GET", "/brevo/contacts")["contacts"]}
    assert "FIRSTNAME" not in found["ada@x.org"]["attributes"]  # cleared either way
    assert found["bob@x.org"]["attributes"]["FIRSTNAME"] == "Bob"
    assert sorted(found["bob@x.org"]["listIds"]) == [60, 61]
    state = sync_state.read_contacts(store).set_index("email")
    assert pd.isna(state.at["ada@x.org", "FIRSTNAME"]) and state.at["bob@x.org", "FIRSTNAME"] == "Bob"
