"""The mapping file loader: the shipped file and the seed's format load, every mistake is caught
with a message naming the file, the key (and line) and what would be valid, custom fields and
stages resolve against account definitions, and a dumped mapping loads back unchanged."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipedrive_brevo.config import (
    COMPUTED_FIELDS,
    DEFAULT_MAPPING_PATH,
    ENV_VAR,
    PERSON_FIELDS,
    VALID_PATHS,
    AttributeSource,
    CurrencyOptions,
    Mapping,
    MappingError,
    MappingWarning,
    Secret,
    WebhookRule,
    check_stages,
    load_mapping,
    mapping_to_dict,
    normalise_field_name,
    resolve_custom_fields,
)

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
SEED_FILE = FIXTURES / "seed_tajo_example.yaml"
PERSON_FIELDS_V2 = json.loads((FIXTURES / "person_fields_v2.json").read_text())
LEAD_SOURCE_KEY = "5a2b9c1d3e4f5061728394a5b6c7d8e9f0a1b2c3"

# A small valid file; each mistake test changes one line of it. Line numbers are 1-based.
BASE = """\
connectors:
  pipedrive:
    enabled: true
    conn_id: pipedrive_default
    sync:
      persons: true
      deals: true
      organizations: true
      activities: true
      leads: true
    lists:
      all_contacts: 60
person_mapping:
  email: email
  name: FULLNAME
  phone: SMS
  org_id.name: COMPANY
  total_revenue: LTV
  custom_fields.lead_source: LEAD_SOURCE
deal_stage_mapping:
  1: 61
  won: 63
webhooks:
  - event_action: added
    event_object: person
    brevo_event: contact_created
options:
  default_phone_region: DE
  currency:
    base: EUR
    rates:
      USD: 0.92
  leads_list: 65
  delete_behavior: soft
  reverse:
    conflict: pipedrive_wins
reverse_mapping:
  email_blacklisted: marketing_status
"""


def write(tmp_path: Path, text: str, name: str = "mapping.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def variant(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line on which ``fragment`` first appears (the line a problem must name)."""
    return text[: text.index(fragment)].count("\n") + 1


def load_error(path: Path) -> MappingError:
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    return info.value


def problem(err: MappingError, key: str):
    found = [p for p in err.problems if p.key == key]
    assert found, f"no problem at {key}; got:\n{err}"
    return found[0]


# ---------------------------------------------------------------------------------------------
# Files that load
# ---------------------------------------------------------------------------------------------

def test_shipped_file_loads_as_the_seed_describes(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped file holds no token, so no warning
        m = load_mapping()
    assert m.file == DEFAULT_MAPPING_PATH
    assert m.pipedrive.conn_id == "pipedrive_default" and m.pipedrive.api_token is None
    assert m.pipedrive.sync.entities() == ("persons", "deals", "organizations", "activities", "leads")
    lists = m.pipedrive.lists
    assert (lists.all_contacts, lists.qualified_leads, lists.customers, lists.churned) == (60, 61, 62, 63)
    assert {e.source.text: e.attribute for e in m.person_mapping} == {
        "email": "EMAIL", "name": "FULLNAME", "first_name": "FIRSTNAME", "last_name": "LASTNAME",
        "phone": "SMS", "org_id.name": "COMPANY", "won_deals_count": "WON_DEALS",
        "lost_deals_count": "LOST_DEALS", "open_deals_count": "OPEN_DEALS",
        "closed_deals_count": "CLOSED_DEALS", "total_revenue": "LTV",
        "custom_fields.lead_source": "LEAD_SOURCE", "custom_fields.industry": "INDUSTRY",
        "custom_fields.company_size": "COMPANY_SIZE"}
    kinds = {e.source.text: e.source.kind for e in m.person_mapping}
    assert kinds["org_id.name"] == "path" and kinds["total_revenue"] == "computed"
    assert kinds["custom_fields.industry"] == "custom_field" and kinds["phone"] == "field"
    assert m.identity.source.text == "email"
    dsm = m.deal_stage_mapping
    assert [(s.stage_id, s.list_id) for s in dsm.stages] == [(1, 61), (2, 61), (3, 62), (4, 62)]
    assert (dsm.won, dsm.lost) == (63, 64)
    assert [(w.event_action, w.event_object, w.brevo_event) for w in m.webhooks][4] == (
        "merged", "person", "contact_merged")
    assert len(m.webhooks) == 6
    o = m.options
    assert (o.default_phone_region, o.leads_list, o.delete_behavior) == ("DE", 65, "soft")
    assert o.currency.base == "EUR" and o.currency.rate("USD") == 0.92 and o.currency.rate("EUR") == 1.0
    assert o.notify is None and m.reverse_mapping == ()
    assert sorted(m.list_ids()) == [60, 61, 62, 63, 64, 65]


def test_shipped_file_resolves_against_the_sandbox_style_account(monkeypatch):
    """The generator names the custom fields "Lead source", "Industry", "Company size", stages 1..N."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    resolved = resolve_custom_fields(load_mapping(), PERSON_FIELDS_V2)
    assert {ref: f.name for ref, f in resolved.custom_fields} == {
        "lead_source": "Lead source", "industry": "Industry", "company_size": "Company size"}
    check_stages(resolved.mapping, [{"id": i, "name": f"Stage {i}", "pipeline_id": 1} for i in range(1, 7)])


def test_env_var_names_another_file(tmp_path, monkeypatch):
    other = write(tmp_path, "person_mapping:\n  email: email\n  job_title: JOB_TITLE\n", "other.yaml")
    monkeypatch.setenv(ENV_VAR, str(other))
    m = load_mapping()
    assert m.file == other
    assert [e.attribute for e in m.person_mapping] == ["EMAIL", "JOB_TITLE"]


def test_seed_example_with_api_token_loads_with_a_warning_that_never_shows_the_token(tmp_path):
    token = "0123456789abcdef0123456789abcdef01234567"
    text = SEED_FILE.read_text().replace("your-pipedrive-api-token", token)
    path = write(tmp_path, text)
    with pytest.warns(MappingWarning) as caught:
        m = load_mapping(path)
    message = str(caught[0].message)
    assert "pipedrive_default" in message and "api_token" in message and str(path) in message
    assert m.warnings == (message,)
    assert m.pipedrive.api_token.reveal() == token
    assert m.pipedrive.company_domain == "yourcompany"
    for shown in (message, repr(m), str(m), repr(m.pipedrive), f"{m.pipedrive.api_token}",
                  repr(dataclasses.asdict(m)), json.dumps(mapping_to_dict(m))):
        assert token not in shown
    # Same configuration as the shipped seed-structured file apart from the token and options.
    assert [(e.source, e.attribute) for e in m.person_mapping] == [
        (e.source, e.attribute) for e in load_mapping(DEFAULT_MAPPING_PATH).person_mapping]


def test_seed_example_verbatim_fixture_loads(tmp_path):
    with pytest.warns(MappingWarning):
        m = load_mapping(SEED_FILE)
    assert m.pipedrive.conn_id == "pipedrive_default"
    assert m.deal_stage_mapping.list_for_stage(3) == 62 and m.deal_stage_mapping.list_for_status("won") == 63
    assert m.options.currency == CurrencyOptions("EUR", ())


SEED_004_STYLE = """\
person_mapping: {email: email}
deal_stage_mapping: {"7": 70, lost: 71}
webhooks: [{event_action: change, event_object: '*', brevo_event: any-change}]
options:
  delete_behavior: hard
  notify:
    webhook_url: http://127.0.0.1:8080/hook
    events: [sync_failed, batch_completed]
"""


@pytest.mark.parametrize("text, check", [
    # The seed with conn_id in place of the token: no warning.
    (SEED_FILE.read_text().replace('api_token: "your-pipedrive-api-token"', "conn_id: pipedrive_eu"),
     lambda m: m.pipedrive.conn_id == "pipedrive_eu" and m.pipedrive.api_token is None),
    # The smallest useful file: defaults for everything else.
    ("person_mapping:\n  email: email\n",
     lambda m: m.pipedrive.sync.entities()[0] == "persons" and m.options.delete_behavior == "soft"
     and m.pipedrive.lists.all_contacts is None and m.webhooks == ()),
    # Seed 004's options style, a loopback notify URL, quoted stage keys, v2 webhook names.
    (SEED_004_STYLE,
     lambda m: m.options.delete_behavior == "hard" and m.deal_stage_mapping.list_for_stage(7) == 70
     and m.options.notify.events == ("sync_failed", "batch_completed") and m.webhooks[0].event_object == "*"),
    # JSON is YAML too.
    (json.dumps({"person_mapping": {"email": "email", "org_id.address.locality": "CITY"},
                 "options": {"notify": {"webhook_url": "https://hooks.example.com/x"}}}),
     lambda m: m.person_mapping[1].source.path == ("org_id", "address", "locality")
     and m.options.notify.events == ("sync_completed", "sync_failed")),
    # Lower-case attribute names are Brevo's upper-case ones; email: EMAIL is the identity too.
    ("person_mapping:\n  email: EMAIL\n  first_name: firstname\n  owner_id.email: Owner_Email\n",
     lambda m: [e.attribute for e in m.person_mapping] == ["EMAIL", "FIRSTNAME", "OWNER_EMAIL"]),
])
def test_seed_format_variants_load(tmp_path, text, check):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = load_mapping(write(tmp_path, text))
    assert check(m)


# ---------------------------------------------------------------------------------------------
# Mistakes: each names the file, the key, the line and what would be valid
# ---------------------------------------------------------------------------------------------

MISTAKES = [
    # (id, old line, new line, key path, fragments the message must hold)
    ("unknown top-level section", "options:\n", "optoins:\n", "optoins",
     ['unknown section "optoins"', 'did you mean "options"', "connectors, person_mapping"]),
    ("unknown connector key", "    enabled: true\n", "    enable: true\n", "connectors.pipedrive.enable",
     ['did you mean "enabled"', "conn_id, api_token, company_domain, sync, lists"]),
    ("unknown sync entity", "      deals: true\n", "      deal: true\n", "connectors.pipedrive.sync.deal",
     ['did you mean "deals"', "persons, deals, organizations, activities, leads"]),
    ("unknown list name", "      all_contacts: 60\n", "      everyone: 60\n", "connectors.pipedrive.lists.everyone",
     ["all_contacts, qualified_leads, customers, churned"]),
    ("unknown options key", "  leads_list: 65\n", "  lead_list: 65\n", "options.lead_list",
     ['did you mean "leads_list"', "default_phone_region, currency"]),
    ("unknown webhook key", "    brevo_event: contact_created\n", "    brevo_evnt: contact_created\n",
     "webhooks[0].brevo_evnt", ['did you mean "brevo_event"', "event_action, event_object, brevo_event"]),
    ("enabled is not a boolean", "    enabled: true\n", '    enabled: "yes"\n', "connectors.pipedrive.enabled",
     ['expected true or false, found the text "yes"']),
    ("sync flag is not a boolean", "      leads: true\n", "      leads: 1\n", "connectors.pipedrive.sync.leads",
     ["expected true or false, found the number 1"]),
    ("unknown person field", "  name: FULLNAME\n", "  nmae: FULLNAME\n", "person_mapping.nmae",
     ['unknown attribute source "nmae"', 'did you mean "name"', "won_deals_count", "custom_fields.<key or name"]),
    ("bad dotted path", "  org_id.name: COMPANY\n", "  org_id.nme: COMPANY\n", 'person_mapping["org_id.nme"]',
     ['did you mean "org_id.name"', "org_id.<organization field>"]),
    ("custom_field without s", "  custom_fields.lead_source:", "  custom_field.lead_source:",
     'person_mapping["custom_field.lead_source"]', ['did you mean "custom_fields.lead_source"']),
    ("empty custom field ref", "  custom_fields.lead_source:", "  custom_fields.:",
     'person_mapping["custom_fields."]', ["unknown attribute source", "custom_fields.<key or name"]),
    ("list id in quotes", "      all_contacts: 60\n", '      all_contacts: "60"\n',
     "connectors.pipedrive.lists.all_contacts", ["positive whole number", "without quotes"]),
    ("list id in deal_stage_mapping", "  1: 61\n", "  1: sixty-one\n", "deal_stage_mapping[1]",
     ['positive whole number such as 60, found the text "sixty-one"']),
    ("leads_list not an integer", "  leads_list: 65\n", "  leads_list: 6.5\n", "options.leads_list",
     ["found the number 6.5"]),
    ("stage key neither int nor won/lost", "  won: 63\n", "  Won: 63\n", "deal_stage_mapping.Won",
     ["Pipedrive stage id", "won, lost", 'did you mean "won"']),
    ("stage key not positive", "  1: 61\n", "  0: 61\n", "deal_stage_mapping[0]", ["won, lost"]),
    ("attribute name with a space", "  name: FULLNAME\n", "  name: FULL NAME\n", "person_mapping.name",
     ["letters, digits and _ only, starting with a letter", '"FULL_NAME"']),
    ("attribute name starting with a digit", "  total_revenue: LTV\n", "  total_revenue: 2LTV\n",
     "person_mapping.total_revenue", ["starting with a letter"]),
    ("attribute mapped twice", "  phone: SMS\n", "  phone: FullName\n", "person_mapping.phone",
     ['FULLNAME is already filled from "name" (line 15)']),
    ("email identity missing", "  email: email\n", "", "person_mapping", ["email: email is missing"]),
    ("email mapped elsewhere", "  email: email\n", "  email: MAIL\n", "person_mapping.email",
     ["identity", "write email: email"]),
    ("another source into EMAIL", "  name: FULLNAME\n", "  name: EMAIL\n", "person_mapping.name",
     ["EMAIL is the contact's identity"]),
    ("unknown phone region", "  default_phone_region: DE\n", "  default_phone_region: Germany\n",
     "options.default_phone_region", ['"Germany" is not a region', "DE, FR, GB or US"]),
    ("currency code lower-case", "      USD: 0.92\n", "      usd: 0.92\n", "options.currency.rates.usd",
     ["ISO 4217", '(e.g. "USD")']),
    ("currency code too long", "    base: EUR\n", "    base: EURO\n", "options.currency.base",
     ["three capital letters"]),
    ("rate not positive", "      USD: 0.92\n", "      USD: 0\n", "options.currency.rates.USD",
     ["positive number", "one USD in EUR"]),
    ("rate not a number", "      USD: 0.92\n", "      USD: cheap\n", "options.currency.rates.USD",
     ['found the text "cheap"']),
    ("base missing", "    base: EUR\n", "", "options.currency", ['"base" is missing']),
    ("base with a rate other than 1", "      USD: 0.92\n", "      EUR: 0.5\n", "options.currency.rates.EUR",
     ["base currency, so its rate is 1"]),
    ("delete_behavior", "  delete_behavior: soft\n", "  delete_behavior: purge\n", "options.delete_behavior",
     ["soft, hard"]),
    ("reverse conflict", "    conflict: pipedrive_wins\n", "    conflict: brevo_wins\n",
     "options.reverse.conflict", ["pipedrive_wins, last_modified"]),
    ("webhook action", "  - event_action: added\n", "  - event_action: add\n", "webhooks[0].event_action",
     ["added, updated, deleted, merged", "create, change, delete", 'did you mean "added"']),
    ("webhook object", "    event_object: person\n", "    event_object: persons\n", "webhooks[0].event_object",
     ['did you mean "person"', "organization"]),
    ("brevo event name", "    brevo_event: contact_created\n", '    brevo_event: "contact created!"\n',
     "webhooks[0].brevo_event", ["letters, digits, _ or -", '"contact_created"']),
    ("notify over plain http", "  leads_list: 65\n",
     "  leads_list: 65\n  notify:\n    webhook_url: http://hooks.example.com/T0/secret-part\n",
     "options.notify.webhook_url", ["https://", "loopback"]),
    ("notify event", "  leads_list: 65\n",
     "  leads_list: 65\n  notify:\n    webhook_url: https://hooks.example.com/x\n    events: [sync_done]\n",
     "options.notify.events[0]", ["sync_completed, sync_failed, batch_completed"]),
    ("reverse source", "  email_blacklisted: marketing_status\n", "  email-blacklisted: marketing_status\n",
     'reverse_mapping["email-blacklisted"]', ["email_blacklisted, sms_blacklisted, hard_bounced"]),
    ("reverse target", "  email_blacklisted: marketing_status\n", "  NEWSLETTER: first_name\n",
     "reverse_mapping.NEWSLETTER", ["marketing_status, name, job_title", "custom_fields.<key or name>"]),
    ("reverse status into a text field", "  email_blacklisted: marketing_status\n", "  hard_bounced: job_title\n",
     "reverse_mapping.hard_bounced", ["marketing_status or a custom field"]),
    ("duplicate YAML key", "  phone: SMS\n", "  phone: SMS\n  phone: MOBILE\n", "person_mapping.phone",
     ["appears twice", "keep only the last"]),
]


@pytest.mark.parametrize("old, new, key, fragments", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_each_mistake_names_file_key_line_and_valid_choices(tmp_path, old, new, key, fragments):
    text = variant(old, new)
    path = write(tmp_path, text)
    err = load_error(path)
    p = problem(err, key)
    message = str(err)
    assert str(path) in message and key in message
    for fragment in fragments:
        assert fragment in p.message, f"{fragment!r} not in {p.message!r}"
    if new.strip():  # the problem points at the changed line (the last one, for a duplicate key)
        assert p.line == line_of(text, new.strip().splitlines()[-1].strip())


def test_all_mistakes_are_reported_together(tmp_path):
    text = (BASE.replace("    enabled: true\n", '    enabled: "yes"\n')
            .replace("  org_id.name: COMPANY\n", "  org_id.nme: COMPANY\n")
            .replace("  delete_behavior: soft\n", "  delete_behavior: purge\n"))
    err = load_error(write(tmp_path, text))
    assert [p.key for p in err.problems] == [
        "connectors.pipedrive.enabled", 'person_mapping["org_id.nme"]', "options.delete_behavior"]
    assert [p.line for p in err.problems] == [3, 17, 34]
    assert str(err).splitlines()[0].endswith("3 problems in the mapping file:")


@pytest.mark.parametrize("old, new, key, needs, line", [
    ("      deals: true\n", "      deals: false\n", "person_mapping.total_revenue", "sync.deals: true", 18),
    ("      deals: true\n", "      deals: false\n", "deal_stage_mapping", "sync.deals: true", 20),
    ("      organizations: true\n", "      organizations: false\n", 'person_mapping["org_id.name"]',
     "sync.organizations: true", 17),
    ("      leads: true\n", "      leads: false\n", "options.leads_list", "sync.leads: true", 33),
])
def test_a_line_whose_entity_is_not_synced_is_an_error(tmp_path, old, new, key, needs, line):
    p = problem(load_error(write(tmp_path, variant(old, new))), key)
    assert needs in p.message and p.line == line


def test_lower_case_attribute_twice_is_one_attribute_mapped_twice(tmp_path):
    err = load_error(write(tmp_path, variant("  phone: SMS\n", "  phone: fullname\n")))
    assert "FULLNAME is already filled" in problem(err, "person_mapping.phone").message


def test_loopback_and_https_notify_urls_are_accepted_and_the_url_is_never_shown(tmp_path):
    for url in ("https://hooks.example.com/a", "http://localhost:9000/a", "http://[::1]/a"):
        text = variant("  leads_list: 65\n", f"  leads_list: 65\n  notify:\n    webhook_url: {url}\n")
        assert load_mapping(write(tmp_path, text)).options.notify.webhook_url == url
    secret_url = "http://hooks.example.com/services/T000/B000/XXXXSECRET"
    err = load_error(write(tmp_path, variant("  leads_list: 65\n",
                                             f"  leads_list: 65\n  notify:\n    webhook_url: {secret_url}\n")))
    assert "XXXXSECRET" not in str(err)
    https_secret = "  leads_list: 65\n  notify:\n    webhook_url: https://h.example/SECRET9\n"
    m = load_mapping(write(tmp_path, variant("  leads_list: 65\n", https_secret)))
    assert "SECRET9" not in repr(m)


def test_api_token_of_the_wrong_type_is_not_quoted(tmp_path):
    text = variant("    conn_id: pipedrive_default\n", "    api_token: 98765432109876543210\n")
    err = load_error(write(tmp_path, text))
    p = problem(err, "connectors.pipedrive.api_token")
    assert "98765432109876543210" not in str(err) and "Airflow connection" in p.message


@pytest.mark.parametrize("text, fragment", [
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("- email\n- name\n", "top level must be a mapping of sections (connectors, person_mapping"),
    ("just text\n", "found the text \"just text\""),
    ("person_mapping: [email\n", "not valid YAML"),
    ("person_mapping: email\n", "expected a mapping of Pipedrive sources to Brevo attributes"),
])
def test_unusable_files(tmp_path, text, fragment):
    path = write(tmp_path, text)
    err = load_error(path)
    assert fragment in str(err) and str(path) in str(err)


def test_yaml_syntax_error_names_its_line(tmp_path):
    err = load_error(write(tmp_path, "person_mapping:\n  email: email\n  name: [FULLNAME\n"))
    assert err.problems[0].line == 4 and "not valid YAML" in err.problems[0].message


def test_missing_file_says_which_path_and_how_to_name_another(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere.yaml"
    err = load_error(missing)
    assert str(missing) in str(err) and "does not exist" in str(err) and ENV_VAR in str(err)
    monkeypatch.setenv(ENV_VAR, str(missing))
    with pytest.raises(MappingError, match=f"named by {ENV_VAR}"):
        load_mapping()
    with pytest.raises(MappingError, match="is a folder"):
        load_mapping(tmp_path)


# ---------------------------------------------------------------------------------------------
# Custom fields and stages against the account
# ---------------------------------------------------------------------------------------------

def mapping_with(tmp_path: Path, *sources: str, reverse: str = "", attribution: str = "") -> Mapping:
    lines = ["person_mapping:", "  email: email"]
    lines += [f"  {json.dumps(s)}: ATTR_{i}" for i, s in enumerate(sources)]
    if reverse:
        lines += ["reverse_mapping:", f"  NEWSLETTER: {json.dumps(reverse)}"]
    if attribution:
        lines += ["options:", "  report:", f"    attribution_field: {json.dumps(attribution)}"]
    return load_mapping(write(tmp_path, "\n".join(lines) + "\n"))


@pytest.mark.parametrize("ref, name", [
    (LEAD_SOURCE_KEY, "Lead source"),                    # the 40-character key
    ("lead_source", "Lead source"),                      # the name, case and space folded
    ("Lead Source", "Lead source"),
    ("COMPANY-SIZE", "Company size"),                    # punctuation read as _
    ("newsletter_opt_in_2026", "Newsletter opt-in (2026)"),
    ("newsletter opt-in (2026)", "Newsletter opt-in (2026)"),
])
def test_custom_field_resolves_by_key_or_name(tmp_path, ref, name):
    m = mapping_with(tmp_path, f"custom_fields.{ref}")
    resolved = resolve_custom_fields(m, PERSON_FIELDS_V2)
    field = resolved.field_for(m.person_mapping[1].source)
    assert field.name == name and len(field.key) == 40


def test_resolved_field_carries_type_and_option_labels(tmp_path):
    m = mapping_with(tmp_path, "custom_fields.lead_source", reverse="custom_fields.industry",
                     attribution="custom_fields.company_size")
    resolved = resolve_custom_fields(m, PERSON_FIELDS_V2)
    lead = resolved.field_for("lead_source")
    assert (lead.key, lead.field_type, lead.label_for(32), lead.label_for("33"), lead.label_for(99)) == (
        LEAD_SOURCE_KEY, "enum", "Referral", "Event", None)
    assert resolved.field_for(m.reverse_mapping[0].target).name == "Industry"
    assert resolved.field_for(m.options.report.attribution_field).field_type == "set"
    with pytest.raises(KeyError):
        resolved.field_for("industry_x")


def test_unknown_custom_field_lists_the_valid_names(tmp_path):
    m = mapping_with(tmp_path, "custom_fields.lead_sorce")
    with pytest.raises(MappingError) as info:
        resolve_custom_fields(m, PERSON_FIELDS_V2)
    p = problem(info.value, 'person_mapping["custom_fields.lead_sorce"]')
    assert p.line == 3 and str(m.file) in str(info.value)
    assert 'did you mean "lead_source"' in p.message
    assert '"Company size" (company_size)' in p.message and '"Lead source" (lead_source)' in p.message
    assert '"Name"' not in p.message  # built-in fields are not custom fields


def test_unknown_40_character_key(tmp_path):
    m = mapping_with(tmp_path, "custom_fields." + "f" * 40)
    with pytest.raises(MappingError, match="no person custom field has the key"):
        resolve_custom_fields(m, PERSON_FIELDS_V2)


def test_ambiguous_custom_field_name_asks_for_the_key(tmp_path):
    twins = PERSON_FIELDS_V2 + [{"field_name": "Lead-Source", "field_code": "1" * 40, "field_type": "varchar",
                                 "options": None, "is_custom_field": True}]
    m = mapping_with(tmp_path, "custom_fields.lead_source")
    with pytest.raises(MappingError) as info:
        resolve_custom_fields(m, twins)
    message = info.value.problems[0].message
    assert "matches 2 custom fields" in message and LEAD_SOURCE_KEY in message and "1" * 40 in message
    # The key still resolves unambiguously.
    by_key = mapping_with(tmp_path, "custom_fields." + "1" * 40)
    assert resolve_custom_fields(by_key, twins).field_for("1" * 40).name == "Lead-Source"


def test_a_built_in_field_does_not_make_a_name_ambiguous(tmp_path):
    fields = PERSON_FIELDS_V2 + [{"field_name": "Industry", "field_code": "industry", "field_type": "varchar",
                                  "is_custom_field": False}]
    m = mapping_with(tmp_path, "custom_fields.industry")
    assert resolve_custom_fields(m, fields).field_for("industry").key == "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"


def test_every_unresolved_reference_is_reported_together(tmp_path):
    m = mapping_with(tmp_path, "custom_fields.nope", "custom_fields.lead_source", reverse="custom_fields.nada")
    with pytest.raises(MappingError) as info:
        resolve_custom_fields(m, PERSON_FIELDS_V2)
    assert [p.key for p in info.value.problems] == [
        'person_mapping["custom_fields.nope"]', "reverse_mapping.NEWSLETTER"]


def test_field_name_normalisation():
    assert normalise_field_name("Lead source") == "lead_source"
    assert normalise_field_name("  Lead -- Source! ") == "lead_source"
    assert normalise_field_name("Größe / Size") == normalise_field_name("GRÖSSE size") == "grösse_size"
    assert normalise_field_name("業種") == "業種"


def test_check_stages_accepts_existing_and_names_missing_ones(tmp_path):
    m = load_mapping(write(tmp_path, BASE.replace("  1: 61\n", "  1: 61\n  9: 62\n")))
    stages = [{"id": 1, "name": "Lead In", "pipeline_id": 1}, {"id": 2, "name": "Contact Made", "pipeline_id": 1}]
    with pytest.raises(MappingError) as info:
        check_stages(m, stages)
    p = problem(info.value, "deal_stage_mapping[9]")
    assert p.line == 22 and "no stage 9" in p.message and "1 (Lead In, pipeline 1), 2 (Contact Made" in p.message
    with pytest.raises(MappingError, match="no stage 9"):
        check_stages(m, stages + [{"id": 9, "name": "Old", "pipeline_id": 2, "is_deleted": True}])
    check_stages(m, stages + [{"id": 9, "name": "Won back", "pipeline_id": 2}])


# ---------------------------------------------------------------------------------------------
# Behaviour of the typed objects
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, action, obj, expected", [
    (("added", "person"), "create", "person", True),      # v1 rule, v2 event
    (("create", "person"), "added", "person", True),      # v2 rule, v1 event
    (("updated", "deal"), "change", "deal", True),
    (("updated", "deal"), "change", "person", False),
    (("merged", "person"), "change", "person", False),    # v2 has no merge action
    (("*", "deal"), "delete", "deal", True),
    (("deleted", "*"), "delete", "activity", True),
])
def test_webhook_rule_matches_v1_and_v2_names(rule, action, obj, expected):
    assert WebhookRule(*rule, "event").matches(action, obj) is expected


def test_secret_never_shows_itself():
    s = Secret("tok-123")
    assert "tok-123" not in repr(s) + str(s) + f"{s}" and s.reveal() == "tok-123"
    assert s == Secret("tok-123") and s != Secret("other")


def test_config_imports_neither_airflow_nor_pandas():
    code = ("import sys; sys.path.insert(0, 'plugins'); import pipedrive_brevo.config as c; "
            "c.load_mapping(c.DEFAULT_MAPPING_PATH); "
            "print(sorted(m for m in ('airflow', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=DEFAULT_MAPPING_PATH.parents[2],
                         capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# Property: a dumped valid mapping loads back to the same mapping
# ---------------------------------------------------------------------------------------------

ATTRIBUTES = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True).filter(lambda a: a.upper() != "EMAIL")
LIST_ID = st.integers(min_value=1, max_value=10**6)
SOURCES = st.sampled_from(sorted(set(PERSON_FIELDS) - {"email"}) + list(COMPUTED_FIELDS) + sorted(VALID_PATHS)
                          + ["custom_fields.lead_source", "custom_fields." + "a" * 40, "custom_fields.Größe"])


@st.composite
def mapping_documents(draw) -> dict:
    sources = draw(st.lists(SOURCES, unique=True, max_size=8))
    attributes = draw(st.lists(ATTRIBUTES, unique_by=str.upper, min_size=len(sources), max_size=len(sources)))
    stages = draw(st.dictionaries(st.integers(min_value=1, max_value=500), LIST_ID, max_size=5))
    for status in ("won", "lost"):
        if draw(st.booleans()):
            stages[status] = draw(LIST_ID)
    hooks = draw(st.lists(st.tuples(st.sampled_from(["added", "change", "merged", "*"]),
                                    st.sampled_from(["person", "deal", "activity", "*"])), unique=True, max_size=4))
    options: dict = {
        "delete_behavior": draw(st.sampled_from(["soft", "hard"])),
        "create_missing_attributes": draw(st.booleans()),
        "currency": {"base": draw(st.sampled_from(["EUR", "USD"])),
                     "rates": draw(st.dictionaries(st.sampled_from(["GBP", "CHF", "JPY"]),
                                                   st.floats(min_value=0.001, max_value=1000), max_size=3))},
        "reverse": {"conflict": draw(st.sampled_from(["pipedrive_wins", "last_modified"]))},
        "report": {"formats": draw(st.sampled_from([["csv"], ["parquet"], ["csv", "parquet"]])),
                   "pipeline_ids": draw(st.lists(st.integers(1, 50), unique=True, max_size=3))},
    }
    if draw(st.booleans()):
        options["default_phone_region"] = draw(st.sampled_from(["DE", "us", "FR", "JP"]))
    if draw(st.booleans()):
        options["leads_list"] = draw(LIST_ID)
    if draw(st.booleans()):
        options["notify"] = {"webhook_url": "https://example.com/hook",
                             "events": draw(st.lists(st.sampled_from(["sync_completed", "sync_failed",
                                                                      "batch_completed"]), unique=True))}
    return {
        "connectors": {"pipedrive": {
            "enabled": draw(st.booleans()), "conn_id": draw(st.sampled_from(["pipedrive_default", "pd.eu-1"])),
            "sync": {"persons": True, "deals": True, "organizations": True, "activities": draw(st.booleans()),
                     "leads": True},
            "lists": draw(st.dictionaries(st.sampled_from(["all_contacts", "qualified_leads", "customers",
                                                           "churned"]), LIST_ID))}},
        "person_mapping": {"email": "email", **dict(zip(sources, attributes, strict=True))},
        "deal_stage_mapping": stages,
        "webhooks": [{"event_action": a, "event_object": o, "brevo_event": f"ev_{i}"}
                     for i, (a, o) in enumerate(hooks)],
        "options": options,
        "reverse_mapping": draw(st.sampled_from([{}, {"email_blacklisted": "marketing_status"},
                                                 {"NEWSLETTER": "custom_fields.newsletter", "job": "job_title"}])),
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=mapping_documents())
def test_dumped_mapping_round_trips(tmp_path, document):
    first = load_mapping(write(tmp_path, yaml.safe_dump(document, allow_unicode=True, sort_keys=False)))
    dumped = mapping_to_dict(first)
    second = load_mapping(write(tmp_path, yaml.safe_dump(dumped, allow_unicode=True, sort_keys=False), "again.yaml"))
    assert second == first
    assert mapping_to_dict(second) == dumped
    # What was written is what was read: attributes upper-cased, order kept, list ids as given.
    assert [e.attribute for e in first.person_mapping] == (
        ["EMAIL"] + [a.upper() for a in list(document["person_mapping"].values())[1:]])
    assert {s.stage_id: s.list_id for s in first.deal_stage_mapping.stages} == {
        k: v for k, v in document["deal_stage_mapping"].items() if isinstance(k, int)}
    assert isinstance(first.person_mapping[-1].source, AttributeSource)
