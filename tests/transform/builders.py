"""Small hand-built Pipedrive records and mappings for the transform tests.

Records are in the v2 API shapes (research/pipedrive-api.md §4), built with only the keys a test
cares about, so each test states its own data and its expectations can be computed by hand.
"""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd

from pipedrive_brevo.config import Mapping, ResolvedMapping, load_mapping, resolve_custom_fields
from pipedrive_brevo.transform.contacts import ContactBuild, build_contacts
from pipedrive_brevo.transform.fields import AttributeSpec, attribute_specs

LEAD_SOURCE = "a" * 40
INTERESTS = "b" * 40
BIRTHDAY = "c" * 40
SCORE = "d" * 40
BUDGET = "e" * 40
NEWSLETTER = "f" * 40
SECTOR = "0123456789abcdef0123456789abcdef01234567"

PERSON_FIELDS: list[dict[str, Any]] = [
    {"field_code": "name", "field_name": "Name", "field_type": "varchar", "is_custom_field": False},
    {"field_code": "label_ids", "field_name": "Labels", "field_type": "set", "is_custom_field": False,
     "options": [{"id": 1, "label": "Customer"}, {"id": 2, "label": "Hot lead"}]},
    {"field_code": LEAD_SOURCE, "field_name": "Lead source", "field_type": "enum", "is_custom_field": True,
     "options": [{"id": 36, "label": "Website"}, {"id": 37, "label": "Referral"}, {"id": 38, "label": "Messe München"}]},
    {"field_code": INTERESTS, "field_name": "Interests", "field_type": "set", "is_custom_field": True,
     "options": [{"id": 49, "label": "Product updates"}, {"id": 50, "label": "Webinars"},
                 {"id": 51, "label": "Pricing"}]},
    {"field_code": BIRTHDAY, "field_name": "Birthday", "field_type": "date", "is_custom_field": True},
    {"field_code": SCORE, "field_name": "Score", "field_type": "double", "is_custom_field": True},
    {"field_code": BUDGET, "field_name": "Annual budget", "field_type": "monetary", "is_custom_field": True},
    {"field_code": NEWSLETTER, "field_name": "Newsletter opt-in", "field_type": "enum", "is_custom_field": True,
     "options": [{"id": 56, "label": "Yes"}, {"id": 57, "label": "No"}]},
    {"field_code": SECTOR, "field_name": "Sector", "field_type": "varchar", "is_custom_field": True},
]
ORGANIZATION_FIELDS: list[dict[str, Any]] = [
    {"field_code": "industry", "field_name": "Industry", "field_type": "enum", "is_custom_field": False,
     "options": [{"id": 12, "label": "Agriculture"}, {"id": 13, "label": "Automotive"}]},
]

BASE_MAPPING = """\
connectors:
  pipedrive:
    enabled: true
    sync: {persons: true, deals: true, organizations: true, activities: true, leads: true}
    lists:
      all_contacts: 60
person_mapping:
  email: email
  first_name: FIRSTNAME
  last_name: LASTNAME
  phone: SMS
  org_id.name: COMPANY
  won_deals_count: WON_DEALS
  lost_deals_count: LOST_DEALS
  open_deals_count: OPEN_DEALS
  closed_deals_count: CLOSED_DEALS
  total_revenue: LTV
  custom_fields.lead_source: LEAD_SOURCE
deal_stage_mapping:
  1: 61
  2: 61
  3: 62
  won: 63
  lost: 64
options:
  default_phone_region: DE
  currency:
    base: EUR
    rates: {USD: 0.92, GBP: 1.17}
  leads_list: 65
"""


def mapping(text: str = BASE_MAPPING) -> Mapping:
    """A mapping read from YAML text by the real loader (so tests use what users write)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mapping.yaml"
        path.write_text(textwrap.dedent(text))
        return load_mapping(path)


def resolved(text: str = BASE_MAPPING, person_fields: list[dict[str, Any]] | None = None) -> ResolvedMapping:
    return resolve_custom_fields(mapping(text), PERSON_FIELDS if person_fields is None else person_fields)


def specs(text: str = BASE_MAPPING, brevo_attributes: dict[str, str] | None = None) -> tuple[AttributeSpec, ...]:
    return attribute_specs(resolved(text), brevo_attributes, person_fields=PERSON_FIELDS,
                           organization_fields=ORGANIZATION_FIELDS)


def person(pid: int, email: str | None = None, *, emails: list[dict[str, Any]] | None = None,
           phone: str | None = None, phones: list[dict[str, Any]] | None = None,
           updated: str = "2026-01-01T00:00:00Z", **extra: Any) -> dict[str, Any]:
    """A v2 person; ``email``/``phone`` give one primary entry, ``emails``/``phones`` the whole list."""
    record: dict[str, Any] = {
        "id": pid, "name": f"Person {pid}", "first_name": "Person", "last_name": str(pid),
        "update_time": updated, "add_time": "2025-01-01T00:00:00Z", "is_deleted": False,
        "emails": emails if emails is not None else ([{"value": email, "primary": True, "label": "work"}] if email else []),
        "phones": phones if phones is not None else ([{"value": phone, "primary": True, "label": "work"}] if phone else []),
        "custom_fields": {},
    }
    record.update(extra)
    return record


def deal(did: int, person_id: int | None, status: str = "open", value: float = 0, currency: str = "EUR", *,
         stage_id: int = 1, is_deleted: bool = False, is_archived: bool = False, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": did, "title": f"Deal {did}", "person_id": person_id, "status": status, "value": value,
        "currency": currency, "stage_id": stage_id, "pipeline_id": 1, "is_deleted": is_deleted,
        "is_archived": is_archived, "update_time": "2026-01-01T00:00:00Z",
    }
    record.update(extra)
    return record


def build(persons: list[dict[str, Any]], *, text: str = BASE_MAPPING, deals: list[dict[str, Any]] | None = None,
          leads: list[dict[str, Any]] | None = None, organizations: list[dict[str, Any]] | None = None,
          users: list[dict[str, Any]] | None = None, brevo_attributes: dict[str, str] | None = None) -> ContactBuild:
    """``build_contacts`` over frames made exactly as the DAG makes them: ``pd.DataFrame(records)``."""
    def frame(items: list[dict[str, Any]] | None) -> pd.DataFrame | None:
        return None if items is None else pd.DataFrame(items)
    return build_contacts(mapping(text), specs(text, brevo_attributes), pd.DataFrame(persons), deals=frame(deals),
                          leads=frame(leads), organizations=frame(organizations), users=frame(users))


def row(build_result: ContactBuild, email: str) -> dict[str, Any]:
    """One contact as a plain dict (NA as None), for readable assertions."""
    contacts = build_result.contacts
    found = contacts[contacts["email"] == email]
    assert len(found) == 1, f"{email} is not exactly once in {contacts['email'].tolist()}"
    return {k: (None if _missing(v) else v) for k, v in found.iloc[0].to_dict().items()}


def rejects_of(build_result: ContactBuild, reason: str) -> list[dict[str, str]]:
    frame = build_result.rejects
    return frame[frame["reason"] == reason].to_dict("records")


def _missing(value: Any) -> bool:
    if isinstance(value, tuple):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
