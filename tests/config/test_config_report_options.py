"""``options.report.sql_conn_id`` and ``options.report.deal_flow_budget``: defaults, values, mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipedrive_brevo.config import MappingError, load_mapping, mapping_to_dict

BASE = """\
connectors:
  pipedrive:
    conn_id: pipedrive_default
    lists:
      all_contacts: 60
person_mapping:
  email: email
options:
  report:
    formats: [csv]
"""


def load(tmp_path: Path, extra: str = "", name: str = "mapping.yaml"):
    path = tmp_path / name
    path.write_text(BASE + extra, encoding="utf-8")
    return load_mapping(path)


def error(tmp_path: Path, extra: str) -> MappingError:
    with pytest.raises(MappingError) as info:
        load(tmp_path, extra)
    return info.value


def test_defaults_write_no_sql_and_never_read_deal_flows(tmp_path):
    report = load(tmp_path).options.report
    assert report.sql_conn_id is None and report.deal_flow_budget == 0


def test_values_are_read_and_round_trip(tmp_path):
    mapping = load(tmp_path, "    sql_conn_id: ' report_db.v2-main '\n    deal_flow_budget: 4000\n")
    assert mapping.options.report.sql_conn_id == "report_db.v2-main"  # trimmed
    assert mapping.options.report.deal_flow_budget == 4000
    dumped = mapping_to_dict(mapping)
    assert dumped["options"]["report"]["sql_conn_id"] == "report_db.v2-main"
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump(dumped), encoding="utf-8")
    assert load_mapping(again).options.report == mapping.options.report


@pytest.mark.parametrize(("extra", "key", "says"), [
    ("    sql_conn_id: 'my db'\n", "options.report.sql_conn_id",
     '"my db" is not an Airflow connection id (letters, digits, _, . and - only)'),
    ("    sql_conn_id: 5\n", "options.report.sql_conn_id", "expected a non-empty text, found the number 5"),
    ("    deal_flow_budget: -40\n", "options.report.deal_flow_budget",
     "expected a whole number of Pipedrive tokens, 0 or more"),
    ("    deal_flow_budget: 12.5\n", "options.report.deal_flow_budget", "found the number 12.5"),
    ("    deal_flow_budget: true\n", "options.report.deal_flow_budget", "found the boolean true"),
    ("    deal_flow_budgett: 40\n", "options.report.deal_flow_budgett", "deal_flow_budget"),
])
def test_mistakes_name_the_file_key_line_and_what_is_valid(tmp_path, extra, key, says):
    err = error(tmp_path, extra)
    found = [p for p in err.problems if p.key == key]
    assert found, str(err)
    assert says in found[0].message
    assert found[0].line == BASE.count("\n") + 1  # the line of the new key
    assert str(tmp_path / "mapping.yaml") in str(err)
