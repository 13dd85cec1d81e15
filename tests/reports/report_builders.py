"""A small hand-built account for the report tests, with every figure computable by hand.

Report date 2026-03-31 (cutoff 2026-04-01T00:00Z). Base EUR, 1 USD = 0.9 EUR, GBP has no rate.

Pipeline 1 "Sales": stages 11 Lead (10 %), 12 Demo (40 %), 13 Proposal (70 %).
Pipeline 2 "Partners": stages 21 Intro (20 %), 22 Signed (90 %).

====  ========  ===========================  =============================================================
deal  pipeline  value                         story (all times 00:00 UTC, 2026)
====  ========  ===========================  =============================================================
1     Sales     1000 EUR                     added 01-05 in Lead; Demo 02-01; Proposal 03-10; open
2     Sales     2000 USD = 1800 EUR          added 01-10 in Lead; Proposal 01-20 (skips Demo); won 02-20
3     Sales     500 GBP (no rate), prob 50   added 02-01 in Lead; lost 03-01
4     Sales     300 EUR, prob 25             added 03-05, Demo since 03-15 (no history rows at all)
5     Sales     100 EUR                      added 03-20 in Lead; Demo 03-25; Proposal 04-05; won 04-10
6     Sales     50 EUR                       added 04-02: after the report date
7     Partners  400 EUR                      added 01-15 in Intro; Signed 02-15; won 03-15; from lead L-1
8     Sales     70 EUR                       added 01-02, deleted 02-01
9     Partners  1000 GBP (no rate)           added 02-10 in Signed (no history); won 03-20
====  ========  ===========================  =============================================================
"""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from pipedrive_brevo import stage_history
from pipedrive_brevo.config import Mapping, load_mapping
from pipedrive_brevo.reporting.inputs import ReportInputs

REPORT_DATE = "2026-03-31"
PERSON_SOURCE = "3" * 40
DEAL_SOURCE = "1" * 40
CAMPAIGN = "2" * 40

MAPPING = """\
person_mapping:
  email: email
  custom_fields.lead_source: LEAD_SOURCE
options:
  currency:
    base: EUR
    rates:
      USD: 0.9
"""

PIPELINES = [{"id": 1, "name": "Sales", "order_nr": 1}, {"id": 2, "name": "Partners", "order_nr": 2}]
STAGES = [
    {"id": 11, "name": "Lead", "pipeline_id": 1, "order_nr": 1, "deal_probability": 10},
    {"id": 12, "name": "Demo", "pipeline_id": 1, "order_nr": 2, "deal_probability": 40},
    {"id": 13, "name": "Proposal", "pipeline_id": 1, "order_nr": 3, "deal_probability": 70},
    {"id": 21, "name": "Intro", "pipeline_id": 2, "order_nr": 1, "deal_probability": 20},
    {"id": 22, "name": "Signed", "pipeline_id": 2, "order_nr": 2, "deal_probability": 90},
]
USERS = [{"id": 1, "name": "Ann", "email": "ann@corp.example"}, {"id": 2, "name": "Bob", "email": "bob@corp.example"}]
DEAL_FIELDS = [
    {"field_code": "channel", "field_name": "Source channel", "field_type": "enum", "is_custom_field": False,
     "options": [{"id": 101, "label": "Paid search"}, {"id": 102, "label": "Referral"}]},
    {"field_code": DEAL_SOURCE, "field_name": "Lead source", "field_type": "enum", "is_custom_field": True,
     "options": [{"id": 201, "label": "Website"}, {"id": 202, "label": "Partner"}]},
    {"field_code": CAMPAIGN, "field_name": "Campaign", "field_type": "varchar", "is_custom_field": True},
]
PERSON_FIELDS = [
    {"field_code": "name", "field_name": "Name", "field_type": "varchar", "is_custom_field": False},
    {"field_code": PERSON_SOURCE, "field_name": "Lead source", "field_type": "enum", "is_custom_field": True,
     "options": [{"id": 301, "label": "Webinar"}, {"id": 302, "label": "Trade show"}]},
]
PERSONS = [
    {"id": 1, "name": "Ada", "emails": [{"value": "x@old.example", "primary": False},
                                        {"value": " Ada@Lovelace.Example ", "primary": True}],
     "custom_fields": {PERSON_SOURCE: 301}, "update_time": "2026-01-01T00:00:00Z"},
    {"id": 2, "name": "Bo", "emails": [{"value": "bo@example.org", "primary": True}],
     "custom_fields": {PERSON_SOURCE: None}, "update_time": "2026-01-01T00:00:00Z"},
]
ORGANIZATIONS = [{"id": 5, "name": "Acme", "update_time": "2026-01-01T00:00:00Z"}]
LEADS = [{"id": "L-1", "title": "Partner lead", "source_name": "Website form", "origin": "WebForms",
          "update_time": "2026-01-14T00:00:00.000Z"}]


def t(day: str) -> str:
    """``MM-DD`` of 2026 at midnight UTC, as v2 writes times."""
    return f"2026-{day}T00:00:00Z"


def deal(did: int, *, pipeline: int, stage: int, status: str, value: float, currency: str = "EUR",
         added: str, person: int | None = None, owner: int = 1, probability: float | None = None,
         stage_change: str | None = None, won: str | None = None, lost: str | None = None,
         origin: str = "ManuallyCreated", deal_source: int | None = None, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": did, "title": f"Deal {did}", "pipeline_id": pipeline, "stage_id": stage, "status": status,
        "value": value, "currency": currency, "add_time": t(added), "update_time": t(won or lost or added),
        "owner_id": owner, "probability": probability, "origin": origin, "origin_id": None,
        "channel": None, "channel_id": None, "is_deleted": False,
        "custom_fields": {DEAL_SOURCE: deal_source, CAMPAIGN: None},
    }
    if person is not None:
        record["person_id"] = person
    if stage_change:
        record["stage_change_time"] = t(stage_change)
    if won:
        record["won_time"] = record["close_time"] = t(won)
    if lost:
        record["lost_time"] = record["close_time"] = t(lost)
    record.update(extra)
    return record


def deals() -> list[dict[str, Any]]:
    return [
        deal(1, pipeline=1, stage=13, status="open", value=1000, added="01-05", person=1, org_id=5,
             stage_change="03-10"),
        deal(2, pipeline=1, stage=13, status="won", value=2000, currency="USD", added="01-10", person=2, owner=2,
             stage_change="01-20", won="02-20", deal_source=202),
        deal(3, pipeline=1, stage=11, status="lost", value=500, currency="GBP", added="02-01", person=1,
             probability=50, lost="03-01"),
        deal(4, pipeline=1, stage=12, status="open", value=300, added="03-05", person=2, owner=2, probability=25,
             stage_change="03-15", origin="API"),
        deal(5, pipeline=1, stage=13, status="won", value=100, added="03-20", person=1, stage_change="04-05",
             won="04-10"),
        deal(6, pipeline=1, stage=11, status="open", value=50, added="04-02", person=1),
        deal(7, pipeline=2, stage=22, status="won", value=400, added="01-15", stage_change="02-15", won="03-15",
             origin="WebForms", channel=102, channel_id="spring", source_lead_id="L-1"),
        deal(8, pipeline=1, stage=11, status="open", value=70, added="01-02", person=1, is_deleted=True,
             update_time=t("02-01")),
        deal(9, pipeline=2, stage=22, status="won", value=1000, currency="GBP", added="02-10", person=1, won="03-20"),
    ]


def history() -> pd.DataFrame:
    """Stage history rows as the sync records them (null ``from_stage_id`` on first sight)."""
    rows = [  # deal, pipeline, from, to, status, MM-DD
        (1, 1, None, 11, "open", "01-05"), (1, 1, 11, 12, "open", "02-01"), (1, 1, 12, 13, "open", "03-10"),
        (2, 1, None, 11, "open", "01-10"), (2, 1, 11, 13, "open", "01-20"), (2, 1, 13, 13, "won", "02-20"),
        (3, 1, None, 11, "open", "02-01"), (3, 1, 11, 11, "lost", "03-01"),
        (5, 1, None, 11, "open", "03-20"), (5, 1, 11, 12, "open", "03-25"), (5, 1, 12, 13, "open", "04-05"),
        (5, 1, 13, 13, "won", "04-10"),
        (7, 2, None, 21, "open", "01-15"), (7, 2, 21, 22, "open", "02-15"), (7, 2, 22, 22, "won", "03-15"),
    ]
    frame = pd.DataFrame(rows, columns=["deal_id", "pipeline_id", "from_stage_id", "to_stage_id", "status", "day"])
    frame["changed_at"] = pd.to_datetime("2026-" + frame.pop("day"), utc=True)
    frame["source"], frame["run_id"] = "sync", "manual__test"
    return stage_history.typed(frame)


def inputs(**changes: Any) -> ReportInputs:
    values: dict[str, Any] = {
        "deals": pd.DataFrame(deals()), "persons": pd.DataFrame(PERSONS),
        "organizations": pd.DataFrame(ORGANIZATIONS), "leads": pd.DataFrame(LEADS), "pipelines": PIPELINES,
        "stages": STAGES, "users": USERS, "deal_fields": DEAL_FIELDS, "person_fields": PERSON_FIELDS,
        "history": history()}
    values.update(changes)
    return ReportInputs(**values)


def mapping(text: str = MAPPING) -> Mapping:
    """A mapping read by the real loader from YAML text."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mapping.yaml"
        path.write_text(textwrap.dedent(text))
        return load_mapping(path)


def write_account(store: Any) -> None:
    """The account as the sync would leave it under a data location (snapshots, reference, history)."""
    from pipedrive_brevo import stage_history
    from pipedrive_brevo.snapshots import merge, page_frame

    for entity, items in (("deals", deals()), ("persons", PERSONS), ("organizations", ORGANIZATIONS),
                          ("leads", LEADS)):
        store.write_parquet(f"snapshots/{entity}.parquet", merge(None, [page_frame(items)]))
    for name, items in (("pipelines", PIPELINES), ("stages", STAGES), ("users", USERS),
                        ("deal_fields", DEAL_FIELDS), ("person_fields", PERSON_FIELDS)):
        store.write_json(f"snapshots/reference/{name}.json", items)
    stage_history.append(store, history().drop(columns=["source", "run_id"]), run_id="manual__test", source="sync")
