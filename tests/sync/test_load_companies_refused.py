"""A company the import completes without creating is reported once, not re-sent (and rescanned) every run."""

from __future__ import annotations

import pandas as pd

from pipedrive_brevo import sync_state
from pipedrive_brevo.load import LoadCounts, _companies
from pipedrive_brevo.planning import rejects_path
from pipedrive_brevo.storage import DataLocation


class CompanyBrevo:
    """Creates every named company but ``Bad``; lists what it holds with the org id attribute."""

    def __init__(self) -> None:
        self.held: dict[str, str] = {}  # org id -> company id
        self.imports = 0
        self.scans = 0

    def import_companies(self, rows, **_):
        self.imports += 1
        for row in rows:
            if row["name"] != "Bad" and not row["company_id"]:
                self.held[row["pipedrive_org_id"]] = f"c{row['pipedrive_org_id']}"
        return {"id": self.imports, "status": "completed"}

    def iter_companies(self, *, limit):
        self.scans += 1
        yield [{"id": cid, "attributes": {"pipedrive_org_id": org}} for org, cid in self.held.items()]


class Run:
    """The part of the loader's run state ``_companies`` uses."""

    def __init__(self, store: DataLocation) -> None:
        self.store, self.run_id, self.counts, self.on_batch = store, "r1", LoadCounts(), None

    def reject(self, found: pd.DataFrame) -> None:
        self.store.write_parquet(rejects_path(self.run_id), found)

    def save_counts(self) -> None:
        pass


def desired() -> pd.DataFrame:
    return pd.DataFrame({
        "pipedrive_org_id": pd.Series(["1", "2"], dtype="string"), "name": pd.Series(["Acme", "Bad"], dtype="string"),
        "domain": pd.Series([None, None], dtype="string"), "industry": pd.Series([None, None], dtype="string"),
        "number_of_employees": pd.Series([None, None], dtype="Float64"),
        "address": pd.Series([None, None], dtype="string"), "linked_emails": [("a@x.org",), ()]})


def test_a_company_brevo_did_not_create_is_rejected_and_not_sent_again(tmp_path):
    store = DataLocation(str(tmp_path))
    hook, run = CompanyBrevo(), Run(store)

    assert _companies(hook, run, desired(), "pipedrive_org_id", 5000) == []

    state = sync_state.read_companies(store).set_index("pipedrive_org_id")["brevo_id"]
    assert state["1"] == "c1" and pd.isna(state["2"])
    assert (run.counts.companies_created, run.counts.rejected_by_brevo) == (1, 1)
    rejected = store.read_parquet(rejects_path("r1"))
    assert rejected[["entity", "id", "value"]].values.tolist() == [["organization", "2", "Bad"]]
    assert rejected["detail"].str.startswith("company_not_created").all()
    assert (hook.imports, hook.scans) == (1, 2)  # ids looked up before (none known) and after the import

    assert _companies(hook, Run(store), desired(), "pipedrive_org_id", 5000) == []
    assert (hook.imports, hook.scans) == (1, 2)  # unchanged: nothing sent, nothing scanned
