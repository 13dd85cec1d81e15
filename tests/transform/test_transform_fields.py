"""Brevo attribute types and typed values: the type each mapped attribute needs, option ids to
labels, and every value typed the way Brevo accepts it (or reported, never silently dropped)."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from pipedrive_brevo.config import MappingError
from pipedrive_brevo.transform.fields import (
    AttributeSpec,
    attribute_specs,
    missing_attributes,
    normalise_brevo_type,
    same,
    type_values,
)
from tests.transform.builders import (
    BASE_MAPPING,
    LEAD_SOURCE,
    ORGANIZATION_FIELDS,
    PERSON_FIELDS,
    build,
    person,
    resolved,
    row,
    specs,
)

MANY = BASE_MAPPING.replace("""  custom_fields.lead_source: LEAD_SOURCE
""", """  custom_fields.lead_source: LEAD_SOURCE
  custom_fields.interests: INTERESTS
  custom_fields.birthday: BIRTHDAY
  custom_fields.score: SCORE
  custom_fields.annual_budget: BUDGET
  custom_fields.sector: SECTOR
  custom_fields.newsletter_opt_in: NEWSLETTER
  label_ids: LABELS
  org_id.industry: ORG_INDUSTRY
  org_id.employee_count: ORG_SIZE
  birthday: BDAY
  add_time: CREATED
""")


def spec_by_name(items: tuple[AttributeSpec, ...]) -> dict[str, AttributeSpec]:
    return {s.attribute: s for s in items}


def test_each_attribute_gets_the_brevo_type_that_fits_its_pipedrive_field():
    found = {name: (s.pipedrive_type, s.brevo_type) for name, s in spec_by_name(specs(MANY)).items()}
    assert found == {
        "FIRSTNAME": ("varchar", "text"), "LASTNAME": ("varchar", "text"), "SMS": ("phone", "text"),
        "COMPANY": ("varchar", "text"),
        "WON_DEALS": ("int", "float"), "LOST_DEALS": ("int", "float"), "OPEN_DEALS": ("int", "float"),
        "CLOSED_DEALS": ("int", "float"), "LTV": ("double", "float"),
        "LEAD_SOURCE": ("enum", "category"), "INTERESTS": ("set", "multiple-choice"), "BIRTHDAY": ("date", "date"),
        "SCORE": ("double", "float"), "BUDGET": ("monetary", "float"), "SECTOR": ("varchar", "text"),
        "NEWSLETTER": ("enum", "category"), "LABELS": ("set", "multiple-choice"),
        "ORG_INDUSTRY": ("enum", "category"), "ORG_SIZE": ("int", "float"), "BDAY": ("date", "date"),
        "CREATED": ("date", "date"),
    }


def test_option_fields_carry_their_labels_for_creating_the_attribute():
    by_name = spec_by_name(specs(MANY))
    assert by_name["LEAD_SOURCE"].labels == ("Website", "Referral", "Messe München")
    assert by_name["INTERESTS"].labels == ("Product updates", "Webinars", "Pricing")
    assert by_name["LABELS"].labels == ("Customer", "Hot lead")          # built-in, from personFields
    assert by_name["ORG_INDUSTRY"].labels == ("Agriculture", "Automotive")  # from organizationFields
    assert by_name["LEAD_SOURCE"].field_key == LEAD_SOURCE


def test_an_existing_brevo_attribute_keeps_its_type_and_missing_ones_are_listed():
    existing = {"FIRSTNAME": "text", "LASTNAME": "text", "SMS": "text", "interests": "text", "SCORE": "float",
                "LEAD_SOURCE": "category", "NEWSLETTER": "boolean", "BIRTHDAY": "date"}
    by_name = spec_by_name(specs(MANY, existing))
    assert by_name["INTERESTS"].brevo_type == "text"       # a set into a text attribute: labels joined
    assert by_name["NEWSLETTER"].brevo_type == "boolean"
    assert by_name["INTERESTS"].exists is True             # names compare upper-case, as Brevo stores them
    missing = [s.attribute for s in missing_attributes(by_name.values())]
    assert missing == ["COMPANY", "WON_DEALS", "LOST_DEALS", "OPEN_DEALS", "CLOSED_DEALS", "LTV", "BUDGET",
                       "SECTOR", "LABELS", "ORG_INDUSTRY", "ORG_SIZE", "BDAY", "CREATED"]


def test_without_brevo_attributes_nothing_is_known_to_exist_or_to_be_missing():
    assert {s.exists for s in specs(MANY)} == {None}
    assert missing_attributes(specs(MANY)) == ()


@pytest.mark.parametrize(("brevo", "expected"), [
    ("text", "text"), ("multiple-choice", "multiple-choice"), ("multipleChoice", "multiple-choice"),
    ("float", "float"), ("number", "float"), ("id", "text"), ("user", "text"), ("category", "category"),
    ("calculated", None), (None, None),
])
def test_brevo_type_spellings(brevo, expected):
    assert normalise_brevo_type(brevo) == expected


def spec(brevo_type: str, pipedrive_type: str = "varchar", options=()) -> AttributeSpec:
    from pipedrive_brevo.config import AttributeSource, FieldOption
    return AttributeSpec("X", AttributeSource("custom_field", "custom_fields.x", ("custom_fields", "x")),
                         pipedrive_type, brevo_type, tuple(FieldOption(i, label) for i, label in options))


INTEREST_OPTIONS = [(49, "Product updates"), (50, "Webinars"), (51, "Pricing")]


def typed(values, s: AttributeSpec) -> tuple[list, list]:
    result = type_values(pd.Series(values, dtype="object"), s)
    as_list = [None if (not isinstance(v, tuple) and pd.isna(v)) else v for v in result.values]
    return as_list, [None if pd.isna(p) else p for p in result.problems]


def test_enum_ids_become_labels_in_every_form_pipedrive_sends():
    s = spec("category", "enum", [(36, "Website"), (37, "Referral")])
    values, problems = typed([36, "37", {"id": 36, "label": "Website"}, 99, None], s)
    assert values == ["Website", "Referral", "Website", None, None]
    assert problems == [None, None, None, "unknown_option", None]


def test_set_values_become_labels_in_option_order():
    s = spec("multiple-choice", "set", INTEREST_OPTIONS)
    values, problems = typed([[51, 49], "50,49", [49, 99], [], None, [{"id": 50, "label": "Webinars"}]], s)
    assert values == [("Product updates", "Pricing"), ("Product updates", "Webinars"), ("Product updates",),
                      None, None, ("Webinars",)]
    assert problems == [None, None, "unknown_option", None, None, None]


def test_a_set_into_a_text_attribute_is_its_labels_joined():
    values, _ = typed([[51, 49, 50]], spec("text", "set", INTEREST_OPTIONS))
    assert values == ["Product updates, Webinars, Pricing"]


def test_dates_are_yyyy_mm_dd_and_unreadable_ones_reported():
    values, problems = typed(["1993-09-20", "2024-12-19T06:02:26Z", "2026-03-01 23:30:00", "20/09/1993", None, ""],
                             spec("date", "date"))
    assert values == ["1993-09-20", "2024-12-19", "2026-03-01", None, None, None]
    assert problems == [None, None, None, "invalid_date", None, None]


def test_numbers_are_numbers():
    values, problems = typed([42, "3,5", " 7 ", "abc", None, True], spec("float", "double"))
    assert values == [42.0, 3.5, 7.0, None, None, 1.0]
    assert problems == [None, None, None, "invalid_number", None, None]


def test_a_monetary_field_sends_its_amount():
    values, _ = typed([{"value": 2300, "currency": "EUR"}, None, 15.5], spec("float", "monetary"))
    assert values == [2300.0, None, 15.5]


def test_booleans_from_flags_and_yes_no_labels():
    values, problems = typed([True, "Yes", "no", "maybe", None], spec("boolean", "varchar"))
    assert values == [True, True, False, None, None]
    assert problems == [None, None, None, "invalid_boolean", None]


def test_an_enum_into_an_existing_boolean_attribute_reads_its_label():
    values, _ = typed([56, 57], spec("boolean", "enum", [(56, "Yes"), (57, "No")]))
    assert values == [True, False]


def test_text_is_trimmed_numbers_written_without_trailing_zero_and_blank_is_no_value():
    values, problems = typed(["  Grüße  ", 12.0, 3.5, "", "  ", {"value": "Main St 1, Berlin"}], spec("text"))
    assert values == ["Grüße", "12", "3.5", None, None, "Main St 1, Berlin"]
    assert problems == [None] * 6


def test_same_treats_null_as_equal_to_null_only():
    a = pd.Series(["x", pd.NA, pd.NA, "y"], dtype="string")
    b = pd.Series(["x", pd.NA, "z", "q"], dtype="string")
    assert same(a, b).tolist() == [True, True, False, False]
    t = pd.Series([("a", "b"), None, ("a",)], dtype="object")
    u = pd.Series([("a", "b"), None, ("a", "b")], dtype="object")
    assert same(t, u).tolist() == [True, True, False]


# ----------------------------------------------------------------- custom fields, end to end

def test_custom_field_values_are_typed_in_the_contact():
    p = person(1, "a@x.example", custom_fields={
        LEAD_SOURCE: 38, "b" * 40: [50, 49], "c" * 40: "1990-02-03", "d" * 40: 4.5,
        "e" * 40: {"value": 1200, "currency": "EUR"}, "f" * 40: 56,
        "0123456789abcdef0123456789abcdef01234567": " Öffentlicher Dienst "})
    contact = row(build([p], text=MANY), "a@x.example")
    assert (contact["LEAD_SOURCE"], contact["INTERESTS"], contact["BIRTHDAY"], contact["SCORE"], contact["BUDGET"],
            contact["NEWSLETTER"], contact["SECTOR"]) == (
        "Messe München", ("Product updates", "Webinars"), "1990-02-03", 4.5, 1200.0, "Yes", "Öffentlicher Dienst")


def test_v1_custom_fields_at_the_record_root_are_read_too():
    p = person(1, "a@x.example", custom_fields=None, **{LEAD_SOURCE: "37"})
    assert row(build([p]), "a@x.example")["LEAD_SOURCE"] == "Referral"


def test_a_value_that_cannot_be_typed_is_left_out_and_reported_per_field():
    p = person(7, "a@x.example", custom_fields={"c" * 40: "next tuesday", LEAD_SOURCE: 99})
    result = build([p], text=MANY)
    contact = row(result, "a@x.example")
    assert contact["BIRTHDAY"] is None and contact["LEAD_SOURCE"] is None
    found = result.rejects[result.rejects["entity"] == "person"][["id", "field", "reason", "value", "detail"]]
    assert found.to_dict("records") == [
        {"id": "7", "field": "custom_fields.lead_source", "reason": "unknown_option", "value": "99",
         "detail": "LEAD_SOURCE"},
        {"id": "7", "field": "custom_fields.birthday", "reason": "invalid_date", "value": "next tuesday",
         "detail": "BIRTHDAY"},
    ]


def test_a_renamed_custom_field_is_still_found_by_its_key_but_no_longer_by_its_old_name():
    renamed = copy.deepcopy(PERSON_FIELDS)
    next(f for f in renamed if f["field_code"] == LEAD_SOURCE)["field_name"] = "Lead origin"
    by_key = BASE_MAPPING.replace("custom_fields.lead_source", f"custom_fields.{LEAD_SOURCE}")
    field = resolved(by_key, renamed).field_for(f"{LEAD_SOURCE}")
    assert (field.key, field.name) == (LEAD_SOURCE, "Lead origin")
    assert resolved(BASE_MAPPING.replace("custom_fields.lead_source", "custom_fields.lead_origin"),
                    renamed).field_for("lead_origin").key == LEAD_SOURCE
    with pytest.raises(MappingError, match="lead_source"):  # caught before any API call
        resolved(BASE_MAPPING, renamed)
    specs_by_key = attribute_specs(resolved(by_key, renamed), None, person_fields=renamed,
                                   organization_fields=ORGANIZATION_FIELDS)
    assert spec_by_name(specs_by_key)["LEAD_SOURCE"].labels == ("Website", "Referral", "Messe München")
