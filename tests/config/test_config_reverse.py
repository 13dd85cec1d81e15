"""reverse_mapping and options.reverse: labels, the product's own Brevo key name, clear refusals."""

from __future__ import annotations

import pytest

from pipedrive_brevo.config import DEFAULT_REVERSE_API_KEY_NAME, MappingError, load_mapping

BASE = """connectors: {pipedrive: {enabled: true}}
person_mapping: {email: email, name: FULLNAME}
"""


def load(tmp_path, text):
    path = tmp_path / "m.yaml"
    path.write_text(BASE + text)
    return load_mapping(path)


def error_of(tmp_path, text) -> str:
    with pytest.raises(MappingError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_defaults_and_a_named_key(tmp_path):
    m = load(tmp_path, "")
    assert m.options.reverse.api_key_name == DEFAULT_REVERSE_API_KEY_NAME == "pipedrive-brevo-sync"
    assert m.options.reverse.conflict == "pipedrive_wins"
    m = load(tmp_path, "options: {reverse: {conflict: last_modified, api_key_name: crm-loader}}\n")
    assert (m.options.reverse.conflict, m.options.reverse.api_key_name) == ("last_modified", "crm-loader")


def test_a_status_may_go_to_a_label_by_name(tmp_path):
    m = load(tmp_path, "reverse_mapping:\n  hard_bounced: label_ids.Bounced email\n  FULLNAME: name\n")
    bounce, name = m.reverse_mapping
    assert (bounce.source_kind, bounce.target.path) == ("status", ("label_ids", "Bounced email"))
    assert (name.source, name.target.text) == ("FULLNAME", "name")


def test_an_attribute_to_a_label_is_refused_naming_the_key_and_the_statuses(tmp_path):
    message = error_of(tmp_path, "reverse_mapping:\n  NEWSLETTER: label_ids.Subscribed\n")
    assert "reverse_mapping.NEWSLETTER" in message and "line 4" in message
    assert "only a status" in message and "hard_bounced" in message


def test_an_empty_key_name_and_an_unknown_reverse_option_are_refused(tmp_path):
    message = error_of(tmp_path, "options:\n  reverse:\n    api_key_name: ''\n    conflcit: last_modified\n")
    assert "options.reverse.api_key_name" in message and "non-empty text" in message
    assert "options.reverse.conflcit" in message and "conflict" in message


def test_a_status_to_a_text_field_names_the_valid_targets(tmp_path):
    message = error_of(tmp_path, "reverse_mapping:\n  email_blacklisted: job_title\n")
    assert "reverse_mapping.email_blacklisted" in message and "marketing_status" in message
    assert "label_ids.<label name>" in message
