"""The referee must be able to say no: contract tests are only as strict as this validator."""

from __future__ import annotations

import pytest

from tests.support.openapi import (
    BREVO,
    BREVO_2025,
    PIPEDRIVE_V1,
    PIPEDRIVE_V2,
    OpenAPISpec,
)


def test_accepts_a_body_shaped_as_the_spec_says():
    OpenAPISpec.load(PIPEDRIVE_V2).validate_response(
        "get", "/persons", 200, {"success": True, "data": [], "additional_data": {"next_cursor": None}})


@pytest.mark.parametrize("body, where", [
    ({"success": True, "data": [{"id": "7"}], "additional_data": {}}, "data/0/id"),
    ({"success": "yes", "data": [], "additional_data": {}}, "success"),
])
def test_rejects_wrong_types_and_names_where(body, where):
    with pytest.raises(AssertionError, match=where):
        OpenAPISpec.load(PIPEDRIVE_V2).validate_response("get", "/persons", 200, body)


def test_resolves_refs_in_both_brevo_documents_including_integer_status_keys():
    for path in (BREVO, BREVO_2025):
        spec = OpenAPISpec.load(path)
        spec.validate_response("post", "/contacts", 201, {"id": 5})
        with pytest.raises(AssertionError, match="at id"):
            spec.validate_response("post", "/contacts", 201, {"id": "five"})


def test_unknown_operations_and_statuses_fail_loudly():
    spec = OpenAPISpec.load(PIPEDRIVE_V1)
    with pytest.raises(AssertionError, match="no path"):
        spec.validate_response("get", "/no-such-thing", 200, {})
    with pytest.raises(AssertionError, match="declares no response 418"):
        spec.validate_response("get", "/leads", 418, {})
