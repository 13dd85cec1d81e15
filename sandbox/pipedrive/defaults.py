"""What a brand-new Pipedrive company has before anyone adds data.

``create_app(account=None)`` serves this: the built-in person, organization and deal fields, one
pipeline with Pipedrive's default stages, one admin user, the built-in activity types and lead
labels. Shapes follow the vendor's spec examples; values are those of a fresh account.
"""

from __future__ import annotations

from typing import Any

CREATED = "2026-01-05T09:00:00Z"
CREATED_V1 = "2026-01-05 09:00:00"
COMPANY_DOMAIN = "sandbox-company"


def _field(name: str, code: str, field_type: str, *, options: list[dict[str, Any]] | None = None,
           subfields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"field_name": name, "field_code": code, "description": f"{name} of the record", "field_type": field_type,
            "options": options, "subfields": subfields, "is_custom_field": False,
            "is_optional_response_field": False}


def _labels(*names: str) -> list[dict[str, Any]]:
    return [{"id": i, "label": name, "color": color, "add_time": CREATED, "update_time": CREATED}
            for i, (name, color) in enumerate(zip(names, ("green", "red", "yellow", "blue"), strict=False), start=1)]


def person_fields() -> list[dict[str, Any]]:
    return [
        _field("Name", "name", "varchar"),
        _field("First name", "first_name", "varchar"),
        _field("Last name", "last_name", "varchar"),
        _field("Organization", "org_id", "org"),
        _field("Email", "emails", "varchar"),
        _field("Phone", "phones", "phone"),
        _field("Owner", "owner_id", "user"),
        _field("Labels", "label_ids", "set", options=_labels("Customer", "Hot lead", "Warm lead", "Cold lead")),
        _field("Visible to", "visible_to", "visible_to"),
        _field("Marketing status", "marketing_status", "enum", options=[
            {"id": status, "label": label} for status, label in (
                ("no_consent", "No consent"), ("unsubscribed", "Unsubscribed"),
                ("subscribed", "Subscribed"), ("archived", "Archived"))]),
        _field("Person created", "add_time", "date"),
        _field("Update time", "update_time", "date"),
    ]


def organization_fields() -> list[dict[str, Any]]:
    return [
        _field("Name", "name", "varchar"),
        _field("Owner", "owner_id", "user"),
        _field("Address", "address", "address"),
        _field("Labels", "label_ids", "set", options=_labels("Customer", "Hot lead", "Warm lead", "Cold lead")),
        _field("Website", "website", "varchar"),
        _field("Visible to", "visible_to", "visible_to"),
        _field("Organization created", "add_time", "date"),
        _field("Update time", "update_time", "date"),
    ]


def deal_fields() -> list[dict[str, Any]]:
    return [
        _field("Title", "title", "varchar"),
        _field("Value", "value", "monetary", subfields=[
            {"field_code": "currency", "field_name": "Currency", "field_type": "varchar"}]),
        _field("Contact person", "person_id", "people"),
        _field("Organization", "org_id", "org"),
        _field("Pipeline", "pipeline_id", "double"),
        _field("Stage", "stage_id", "stage"),
        _field("Status", "status", "status", options=[
            {"id": status, "label": status.capitalize()} for status in ("open", "won", "lost", "deleted")]),
        _field("Owner", "owner_id", "user"),
        _field("Labels", "label_ids", "set", options=_labels("Hot", "Warm", "Cold")),
        _field("Probability", "probability", "double"),
        _field("Expected close date", "expected_close_date", "date"),
        _field("Deal created", "add_time", "date"),
        _field("Update time", "update_time", "date"),
    ]


def pipelines() -> list[dict[str, Any]]:
    return [{"id": 1, "name": "Sales pipeline", "order_nr": 1, "is_deleted": False,
             "is_deal_probability_enabled": False, "add_time": CREATED, "update_time": CREATED}]


def stages() -> list[dict[str, Any]]:
    names = (("Qualified", 10), ("Contact Made", 20), ("Demo Scheduled", 40),
             ("Proposal Made", 60), ("Negotiations Started", 80))
    return [{"id": i, "order_nr": i, "name": name, "is_deleted": False, "deal_probability": probability,
             "pipeline_id": 1, "is_deal_rot_enabled": False, "days_to_rotten": None,
             "add_time": CREATED, "update_time": CREATED}
            for i, (name, probability) in enumerate(names, start=1)]


def users() -> list[dict[str, Any]]:
    return [{"id": 1, "name": "Sandbox Admin", "default_currency": "EUR", "locale": "en_US", "lang": 1,
             "email": "admin@sandbox-company.example", "phone": None, "activated": True,
             "last_login": CREATED_V1, "created": CREATED_V1, "modified": CREATED_V1,
             "has_created_company": True,
             "access": [{"app": "sales", "admin": True, "permission_set_id": "62cc4d7f-4038-4352-abf3-a8c1c822b631"},
                        {"app": "global", "admin": True, "permission_set_id": "233b7976-39bd-43a9-b305-ef3a2b0998e5"}],
             "active_flag": True, "timezone_name": "Europe/Berlin", "timezone_offset": "+01:00", "role_id": 1,
             "icon_url": None, "is_you": False, "is_deleted": False}]


def activity_types() -> list[dict[str, Any]]:
    built_in = (("Call", "call"), ("Meeting", "meeting"), ("Task", "task"), ("Deadline", "deadline"),
                ("Email", "email"), ("Lunch", "lunch"))
    return [{"id": i, "order_nr": i, "name": name, "key_string": key, "icon_key": key, "active_flag": True,
             "color": "FFFFFF", "is_custom_flag": False, "add_time": CREATED_V1, "update_time": CREATED_V1}
            for i, (name, key) in enumerate(built_in, start=1)]


def lead_labels() -> list[dict[str, Any]]:
    labels = (("f08b42a0-4e75-11ea-9643-03698ef1cfd6", "Hot", "red"),
              ("f08b42a1-4e75-11ea-9643-03698ef1cfd6", "Cold", "blue"),
              ("f08b69b0-4e75-11ea-9643-03698ef1cfd6", "Warm", "yellow"))
    stamp = "2026-01-05T09:00:00.000Z"
    return [{"id": id_, "name": name, "color": color, "add_time": stamp, "update_time": stamp}
            for id_, name, color in labels]
