"""The mapping file (``include/mappings/pipedrive_brevo.yaml``) read into typed, validated objects.

The mapping decides what is written to Brevo, so a typo in it must stop the run before any API
write, with a message that says which file, which key, which line, what is wrong and what would be
valid, rather than silently syncing nothing into an attribute nobody reads. All mistakes are
collected and reported together, so a user fixes the file in one pass.

The file accepts the Tajo Pipedrive connector's configuration format unchanged (``connectors.
pipedrive``, ``person_mapping``, ``deal_stage_mapping``, ``webhooks``) plus this project's extensions
(``connectors.pipedrive.conn_id``, top-level ``options`` and ``reverse_mapping``); see CONTRACT §4.

Two steps, because some things cannot be checked without the account:

1. :func:`load_mapping` reads the file and checks everything that needs no API. It is called at DAG
   parse time, so it is cheap (one small YAML file, no network, no Airflow import).
2. :func:`resolve_custom_fields` and :func:`check_stages` check the parts that depend on the
   Pipedrive account (custom field keys or names, stage ids) against definitions a task fetched.
   They are pure functions: the caller does the I/O.

Decisions a user or another module relies on:

- Brevo stores attribute names upper-case and accepts letters, digits and ``_`` starting with a
  letter. A lower-case name is *normalised* (``firstname`` means ``FIRSTNAME``), not rejected: Brevo
  would upper-case it itself. Hence ``firstname`` and ``FIRSTNAME`` in one file are the same
  attribute mapped twice, which is an error.
- ``email: email`` (or ``email: EMAIL``) names the contact's identity; ``EMAIL`` is reserved for it.
- Brevo list ids must be YAML integers (``60``, not ``"60"``). Stage keys of ``deal_stage_mapping``
  may be quoted (``"3"``), because mapping keys are often written as strings (and must be in JSON).
- A seed-style ``api_token`` is accepted with a :class:`MappingWarning`; it is held in a
  :class:`Secret` whose repr and str never show it, and no message ever quotes it.
- ``options.currency`` defaults to base ``EUR`` with no other rates; ``options.notify.events``
  defaults to ``sync_completed`` and ``sync_failed`` (``batch_completed`` is opt-in: it is chatty).
- A computed deal field or ``deal_stage_mapping`` needs ``sync.deals``, an ``org_id.*`` path needs
  ``sync.organizations`` and ``options.leads_list`` needs ``sync.leads``: otherwise the attribute
  or list would be silently empty, so that is an error too.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import math
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

ENV_VAR = "PIPEDRIVE_BREVO_MAPPING"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAPPING_PATH = REPO_ROOT / "include" / "mappings" / "pipedrive_brevo.yaml"
DEFAULT_CONN_ID = "pipedrive_default"

# ---------------------------------------------------------------------------------------------
# Vocabularies: what each key may hold. Taken from the Pipedrive v2 OpenAPI document (person,
# organization and webhook schemas), the v1 webhook docs and Brevo's naming rules.
# ---------------------------------------------------------------------------------------------

#: Person fields a ``person_mapping`` source may name directly. ``email`` and ``phone`` are the
#: primary (else first) entry of the v2 ``emails``/``phones`` arrays, as the seed writes them.
PERSON_FIELDS: tuple[str, ...] = (
    "add_time", "birthday", "email", "first_name", "id", "job_title", "label_ids", "last_name",
    "marketing_status", "name", "notes", "org_id", "owner_id", "phone", "update_time", "visible_to",
)
#: Fields computed over the person's deals that are not deleted (CONTRACT §4).
COMPUTED_FIELDS: tuple[str, ...] = (
    "won_deals_count", "lost_deals_count", "open_deals_count", "closed_deals_count", "total_revenue",
)
ADDRESS_PARTS: tuple[str, ...] = (
    "value", "country", "admin_area_level_1", "admin_area_level_2", "locality", "sublocality",
    "route", "street_number", "subpremise", "postal_code",
)
ORGANIZATION_FIELDS: tuple[str, ...] = (
    "id", "name", "owner_id", "add_time", "update_time", "visible_to", "label_ids", "website",
    "linkedin", "industry", "annual_revenue", "employee_count", "address",
)
USER_FIELDS: tuple[str, ...] = ("id", "name", "email")
#: Dotted paths: ``org_id`` and ``owner_id`` lead to related records, ``postal_address`` into the
#: person's own address object.
PATH_FIELDS: dict[str, tuple[str, ...]] = {
    "org_id": ORGANIZATION_FIELDS + tuple(f"address.{part}" for part in ADDRESS_PARTS),
    "owner_id": USER_FIELDS,
    "postal_address": ADDRESS_PARTS,
}
VALID_PATHS: frozenset[str] = frozenset(
    f"{head}.{tail}" for head, tails in PATH_FIELDS.items() for tail in tails)
CUSTOM_PREFIX = "custom_fields."

#: Person fields the reverse direction may write (v2 ``PATCH /persons/{id}``, scalar ones only:
#: emails and phones are the identity and are never written from Brevo).
REVERSE_TARGET_FIELDS: tuple[str, ...] = ("marketing_status", "name", "job_title", "birthday", "notes")
#: Brevo contact statuses a ``reverse_mapping`` source may name besides attributes.
BREVO_STATUSES: tuple[str, ...] = ("email_blacklisted", "sms_blacklisted", "hard_bounced")
#: ``label_ids.<label name>``: a status adds (true) or removes (false) one person label.
REVERSE_LABEL_PREFIX = "label_ids."
#: The name the product's Brevo API key is expected to have (``options.reverse.api_key_name``).
DEFAULT_REVERSE_API_KEY_NAME = "pipedrive-brevo-sync"

SYNC_ENTITIES: tuple[str, ...] = ("persons", "deals", "organizations", "activities", "leads")
LIST_NAMES: tuple[str, ...] = ("all_contacts", "qualified_leads", "customers", "churned")
STAGE_STATUSES: tuple[str, ...] = ("won", "lost")

V1_EVENT_ACTIONS: tuple[str, ...] = ("added", "updated", "deleted", "merged")
V2_EVENT_ACTIONS: tuple[str, ...] = ("create", "change", "delete")
EVENT_ACTIONS: tuple[str, ...] = V1_EVENT_ACTIONS + V2_EVENT_ACTIONS + ("*",)
EVENT_OBJECTS: tuple[str, ...] = (
    "activity", "activityType", "board", "deal", "deal_installment", "deal_product", "lead", "note",
    "organization", "person", "phase", "pipeline", "product", "project", "stage", "task", "user", "*",
)
#: v1 webhook actions and the v2 action each one is (``merged`` has no v2 twin: v2 sends a delete
#: of the loser and a change of the winner).
_V1_TO_V2_ACTION = {"added": "create", "updated": "change", "deleted": "delete"}

DELETE_BEHAVIORS: tuple[str, ...] = ("soft", "hard")
CONFLICT_RULES: tuple[str, ...] = ("pipedrive_wins", "last_modified")
NOTIFY_EVENTS: tuple[str, ...] = ("sync_completed", "sync_failed", "batch_completed")
REPORT_FORMATS: tuple[str, ...] = ("csv", "parquet")

IDENTITY_ATTRIBUTE = "EMAIL"
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_BREVO_EVENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
_CUSTOM_FIELD_KEY = re.compile(r"[0-9a-f]{40}")
_CONN_ID = re.compile(r"[A-Za-z0-9_.-]+")
_COMPANY_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_WORDS = ("token", "secret", "password", "api_key", "webhook_url")

SourceKind = Literal["field", "path", "computed", "custom_field"]


# ---------------------------------------------------------------------------------------------
# Errors and secrets
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One mistake: where (key path and line) and what, with what would be valid."""

    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = ", ".join(part for part in (f"line {self.line}" if self.line else "", self.key) if part)
        return f"{where}: {self.message}" if where else self.message


class MappingError(ValueError):
    """The mapping file cannot be used. The message names the file and lists every problem."""

    def __init__(self, file: Path | str, problems: Sequence[Problem]):
        self.file = Path(file)
        self.problems = tuple(problems)
        count = len(self.problems)
        heading = f"{self.file}: {count} problem{'s' if count != 1 else ''} in the mapping file:"
        super().__init__("\n".join([heading, *(f"  - {p}" for p in self.problems)]))


class MappingWarning(UserWarning):
    """The file works but should change (e.g. a token in it that belongs in a connection)."""


class Secret:
    """A value that must never be shown: repr and str are masked, only :meth:`reveal` gives it.

    A plain ``str`` with ``repr=False`` on the dataclass field would still leak through
    ``dataclasses.asdict``, an f-string or a log of the connector object; this cannot.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# ---------------------------------------------------------------------------------------------
# The typed mapping
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttributeSource:
    """Where a value comes from on the Pipedrive side.

    ``kind`` is ``field`` (a person field, ``path == ("email",)``), ``path`` (through a related
    record or nested object, ``("org_id", "name")``), ``computed`` (a deal metric, ``("total_revenue",)``)
    or ``custom_field`` (``("custom_fields", "<ref>")``; ``ref`` is the key or name as written,
    resolved by :func:`resolve_custom_fields`).
    """

    kind: SourceKind
    text: str
    path: tuple[str, ...]

    @property
    def ref(self) -> str | None:
        """The custom field reference (key or name) as written, for ``custom_field`` sources."""
        return self.path[1] if self.kind == "custom_field" else None


@dataclass(frozen=True)
class PersonMappingEntry:
    """One ``source: BREVO_ATTRIBUTE`` line; ``attribute`` is upper-case, ``EMAIL`` for the identity."""

    source: AttributeSource
    attribute: str
    line: int | None = field(default=None, compare=False, repr=False)

    @property
    def is_identity(self) -> bool:
        return self.attribute == IDENTITY_ATTRIBUTE


@dataclass(frozen=True)
class SyncSelection:
    """Which Pipedrive entities are extracted (``connectors.pipedrive.sync``); all by default."""

    persons: bool = True
    deals: bool = True
    organizations: bool = True
    activities: bool = True
    leads: bool = True

    def entities(self) -> tuple[str, ...]:
        """The enabled entities, in the order the sync extracts them."""
        return tuple(name for name in SYNC_ENTITIES if getattr(self, name))


@dataclass(frozen=True)
class BrevoLists:
    """``connectors.pipedrive.lists``: every synced contact is in ``all_contacts``.

    ``qualified_leads``, ``customers`` and ``churned`` are the seed's named lists; they are read
    and kept so other steps (and ``deal_stage_mapping`` authors) can refer to them by name.
    """

    all_contacts: int | None = None
    qualified_leads: int | None = None
    customers: int | None = None
    churned: int | None = None

    def ids(self) -> frozenset[int]:
        return frozenset(v for v in (getattr(self, n) for n in LIST_NAMES) if v is not None)


@dataclass(frozen=True)
class PipedriveConnector:
    """``connectors.pipedrive``. ``api_token`` is only set for a seed-style file (with a warning)."""

    enabled: bool = True
    conn_id: str = DEFAULT_CONN_ID
    company_domain: str | None = None
    sync: SyncSelection = field(default_factory=SyncSelection)
    lists: BrevoLists = field(default_factory=BrevoLists)
    api_token: Secret | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class StageAssignment:
    """One ``stage_id: list_id`` line of ``deal_stage_mapping``."""

    stage_id: int
    list_id: int
    line: int | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DealStageMapping:
    """``deal_stage_mapping``: the Brevo list of an open deal's stage, and of won and lost deals."""

    stages: tuple[StageAssignment, ...] = ()
    won: int | None = None
    lost: int | None = None

    def list_for_stage(self, stage_id: int) -> int | None:
        return next((s.list_id for s in self.stages if s.stage_id == stage_id), None)

    def list_for_status(self, status: str) -> int | None:
        """``won``/``lost`` give their list; ``open`` has none of its own (it goes by stage)."""
        return {"won": self.won, "lost": self.lost}.get(status)

    def list_ids(self) -> frozenset[int]:
        ids = {s.list_id for s in self.stages} | {self.won, self.lost}
        return frozenset(i for i in ids if i is not None)


@dataclass(frozen=True)
class WebhookRule:
    """A ``webhooks`` item: Pipedrive events of this action and object become this Brevo event."""

    event_action: str
    event_object: str
    brevo_event: str
    line: int | None = field(default=None, compare=False, repr=False)

    def matches(self, action: str, obj: str) -> bool:
        """True when a Pipedrive event (v1 or v2 action names) falls under this rule."""
        def canonical(name: str) -> str:
            return _V1_TO_V2_ACTION.get(name, name)
        action_ok = self.event_action == "*" or canonical(self.event_action) == canonical(action)
        return action_ok and self.event_object in ("*", obj)


@dataclass(frozen=True)
class CurrencyOptions:
    """``options.currency``: ``rates[code]`` is the base-currency value of one unit of ``code``."""

    base: str = "EUR"
    rates: tuple[tuple[str, float], ...] = ()

    def rate(self, code: str) -> float | None:
        """The factor to the base currency, 1.0 for the base itself, None when unknown."""
        if code == self.base:
            return 1.0
        return dict(self.rates).get(code)


@dataclass(frozen=True)
class NotifyOptions:
    """``options.notify``: where to POST run notifications, and for which events."""

    webhook_url: str = field(repr=False)
    events: tuple[str, ...] = ("sync_completed", "sync_failed")


@dataclass(frozen=True)
class ReverseOptions:
    """``options.reverse``: who wins for a field mapped both ways, and the name of the product's own
    Brevo API key (Brevo webhooks name the key that made a change: ours are echoes, never applied)."""

    conflict: Literal["pipedrive_wins", "last_modified"] = "pipedrive_wins"
    api_key_name: str = DEFAULT_REVERSE_API_KEY_NAME


@dataclass(frozen=True)
class ReportOptions:
    """``options.report``: the daily pipeline report's formats, pipelines (empty = all) and the
    person field deals are attributed by (None: the deal's own ``origin``/``channel``).

    ``sql_conn_id``: an Airflow connection (PostgreSQL) the report tables are also written to, for
    BI tools (None: files only). ``deal_flow_budget``: Pipedrive tokens a report run may spend on
    deal flows to fill the stage history of deals older than the project (0: never; 40 a deal).
    """

    formats: tuple[str, ...] = REPORT_FORMATS
    pipeline_ids: tuple[int, ...] = ()
    attribution_field: AttributeSource | None = None
    sql_conn_id: str | None = None
    deal_flow_budget: int = 0


@dataclass(frozen=True)
class Options:
    """The top-level ``options`` section (this project's extension)."""

    default_phone_region: str | None = None
    currency: CurrencyOptions = field(default_factory=CurrencyOptions)
    create_missing_attributes: bool = True
    leads_list: int | None = None
    delete_behavior: Literal["soft", "hard"] = "soft"
    notify: NotifyOptions | None = None
    reverse: ReverseOptions = field(default_factory=ReverseOptions)
    report: ReportOptions = field(default_factory=ReportOptions)


@dataclass(frozen=True)
class ReverseMappingEntry:
    """One ``BREVO_SOURCE: pipedrive_person_field`` line of ``reverse_mapping``.

    ``source`` is an upper-case attribute name (``source_kind == "attribute"``) or one of
    :data:`BREVO_STATUSES`; ``target`` is a ``field`` or ``custom_field`` source.
    """

    source: str
    source_kind: Literal["attribute", "status"]
    target: AttributeSource
    line: int | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Mapping:
    """The whole mapping file, validated. ``file`` and ``warnings`` do not take part in equality."""

    pipedrive: PipedriveConnector
    person_mapping: tuple[PersonMappingEntry, ...]
    deal_stage_mapping: DealStageMapping = field(default_factory=DealStageMapping)
    webhooks: tuple[WebhookRule, ...] = ()
    options: Options = field(default_factory=Options)
    reverse_mapping: tuple[ReverseMappingEntry, ...] = ()
    file: Path | None = field(default=None, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def identity(self) -> PersonMappingEntry:
        return next(e for e in self.person_mapping if e.is_identity)

    def attributes(self) -> tuple[PersonMappingEntry, ...]:
        """The entries that fill Brevo attributes (every entry but the identity)."""
        return tuple(e for e in self.person_mapping if not e.is_identity)

    def list_ids(self) -> frozenset[int]:
        """Every Brevo list the mapping names (the lists the sync may touch)."""
        leads = {self.options.leads_list} if self.options.leads_list is not None else set()
        return self.pipedrive.lists.ids() | self.deal_stage_mapping.list_ids() | leads

    def custom_field_sources(self) -> tuple[tuple[str, AttributeSource, int | None], ...]:
        """Every ``custom_fields.<ref>`` the file uses, with its key path and line."""
        found: list[tuple[str, AttributeSource, int | None]] = []
        for e in self.person_mapping:
            if e.source.kind == "custom_field":
                found.append((format_key_path(("person_mapping", e.source.text)), e.source, e.line))
        for r in self.reverse_mapping:
            if r.target.kind == "custom_field":
                found.append((format_key_path(("reverse_mapping", r.source)), r.target, r.line))
        attribution = self.options.report.attribution_field
        if attribution is not None and attribution.kind == "custom_field":
            found.append(("options.report.attribution_field", attribution, None))
        return tuple(found)


# ---------------------------------------------------------------------------------------------
# Small pure helpers shared by loading and resolving
# ---------------------------------------------------------------------------------------------

def format_key_path(path: Sequence[Any]) -> str:
    """``("person_mapping", "org_id.nme")`` → ``person_mapping["org_id.nme"]``; ints index ``[3]``."""
    out = ""
    for part in path:
        if isinstance(part, str) and _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        elif isinstance(part, str):
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
        else:
            out += f"[{part!r}]"
    return out


def parse_source(text: str) -> AttributeSource | None:
    """Classify a ``person_mapping`` source; None when it is none of the four kinds."""
    if text in COMPUTED_FIELDS:
        return AttributeSource("computed", text, (text,))
    if text in PERSON_FIELDS:
        return AttributeSource("field", text, (text,))
    if text.startswith(CUSTOM_PREFIX) and text[len(CUSTOM_PREFIX):].strip():
        return AttributeSource("custom_field", text, ("custom_fields", text[len(CUSTOM_PREFIX):]))
    if text in VALID_PATHS:
        return AttributeSource("path", text, tuple(text.split(".")))
    return None


def normalise_attribute(name: str) -> str | None:
    """A Brevo attribute name as Brevo stores it (upper-case), or None if Brevo would reject it."""
    return name.upper() if _ATTRIBUTE_NAME.fullmatch(name) else None


def normalise_field_name(name: str) -> str:
    """How a custom field name is compared: case-folded, runs of spaces and punctuation as one
    ``_``, trimmed ("Lead source" and "lead-source " both give ``lead_source``). Letters of any
    script are kept, so non-Latin field names still work."""
    return re.sub(r"[\W_]+", "_", name.casefold()).strip("_")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _choices(options: Iterable[str], limit: int = 40) -> str:
    items = [str(o) for o in options]
    shown = ", ".join(items[:limit])
    return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")


def _suggest(word: str, options: Iterable[str]) -> str:
    """`` (did you mean "x"?)`` for the closest valid choice, or nothing."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {_quote(close[0])}?)" if close else ""


def _describe(value: Any, secret: bool = False) -> str:
    """A found value for a message, in YAML terms; secrets and long texts are not quoted."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if _is_int(value) or isinstance(value, float):
        return "a number" if secret else f"the number {value}"
    if isinstance(value, str):
        if secret:
            return "a text (not shown)"
        return f"the text {_quote(value)}" if len(value) <= 60 else "a long text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and any(word in key.lower() for word in _SECRET_WORDS)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Reading the file: YAML with the line of every key
# ---------------------------------------------------------------------------------------------

KeyPath = tuple[Any, ...]
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def default_mapping_path() -> Path:
    """``$PIPEDRIVE_BREVO_MAPPING`` if set, else the shipped file under the repository root."""
    configured = os.environ.get(ENV_VAR)
    return Path(configured).expanduser() if configured else DEFAULT_MAPPING_PATH


def _read_yaml(file: Path, text: str) -> tuple[Any, dict[KeyPath, int], list[Problem]]:
    """Parse one YAML document; return the data, the line of each key path and duplicate keys.

    PyYAML keeps the last of two equal keys without a word, which would silently drop a mapping
    line; composing the node tree lets us report duplicates and point at lines.
    """
    loader = _YamlLoader(text)
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}, []
            data = loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            what = " ".join(p for p in (exc.context, exc.problem) if p)
            raise MappingError(file, [Problem("", line, f"not valid YAML: {what}")]) from None
        except yaml.YAMLError as exc:
            raise MappingError(file, [Problem("", None, f"not valid YAML: {exc}")]) from None
        lines: dict[KeyPath, int] = {}
        duplicates: list[Problem] = []
        _index_lines(loader, node, (), lines, duplicates, set())
        return data, lines, duplicates
    finally:
        loader.dispose()


def _index_lines(loader: Any, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int],
                 duplicates: list[Problem], active: set[int]) -> None:
    if id(node) in active:  # a recursive alias; nothing more to index
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            child = (*path, key)
            if key in seen:
                duplicates.append(Problem(format_key_path(child), line,
                                          f"the key appears twice (lines {seen[key]} and {line}); "
                                          "YAML would silently keep only the last one: remove one"))
            seen[key] = line
            lines[child] = line
            _index_lines(loader, value_node, child, lines, duplicates, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _index_lines(loader, item, (*path, index), lines, duplicates, active)
    active.discard(id(node))


class _Checker:
    """Collects problems while the sections are read, each with its key path and line."""

    def __init__(self, file: Path, lines: dict[KeyPath, int]):
        self.file = file
        self.lines = lines
        self.problems: list[Problem] = []

    def line(self, path: KeyPath) -> int | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def report(self, path: KeyPath, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(format_key_path(path), line or self.line(path), message))

    # -- shapes ---------------------------------------------------------------------------

    def section(self, value: Any, path: KeyPath, allowed: Sequence[str],
                required: Sequence[str] = ()) -> dict[Any, Any] | None:
        """A mapping with a fixed set of keys (null counts as empty); None if not a mapping."""
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.report(path, f"expected a mapping with the keys {_choices(allowed)}, "
                              f"found {_describe(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.report((*path, key), f"unknown key {_quote(str(key))}"
                                          f"{_suggest(str(key), allowed)}; valid keys here: {_choices(allowed)}")
        for key in required:
            if value.get(key) is None:
                self.report(path, f"the key {_quote(key)} is missing; it is required here")
        return value

    def free_mapping(self, value: Any, path: KeyPath, what: str) -> dict[Any, Any]:
        """A mapping whose keys are data (person_mapping, rates, ...); null counts as empty."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.report(path, f"expected a mapping of {what}, found {_describe(value)}")
            return {}
        return value

    def boolean(self, value: Any, path: KeyPath, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.report(path, f"expected true or false, found {_describe(value, _is_secret_key(path[-1]))}")
            return default
        return value

    def text(self, value: Any, path: KeyPath) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.report(path, f"expected a non-empty text, found {_describe(value, _is_secret_key(path[-1]))}")
            return None
        return value.strip()

    def choice(self, value: Any, path: KeyPath, options: Sequence[str], default: str) -> str:
        if value is None:
            return default
        if value not in options:
            suggestion = _suggest(value, options) if isinstance(value, str) else ""
            self.report(path, f"{_describe(value)} is not valid{suggestion}; valid values: {_choices(options)}")
            return default
        return value

    def list_id(self, value: Any, path: KeyPath) -> int | None:
        """A Brevo list id: a positive YAML integer."""
        if value is None:
            return None
        if not _is_int(value) or value <= 0:
            hint = " (write it without quotes)" if isinstance(value, str) and value.strip().isdigit() else ""
            self.report(path, f"a Brevo list id must be a positive whole number such as 60, "
                              f"found {_describe(value)}{hint}")
            return None
        return value

    def attribute(self, value: Any, path: KeyPath) -> str | None:
        """A Brevo contact attribute name, normalised to upper-case."""
        if not isinstance(value, str):
            self.report(path, f"expected a Brevo attribute name such as FIRSTNAME, found {_describe(value)}")
            return None
        normalised = normalise_attribute(value)
        if normalised is None:
            fixed = re.sub(r"[^A-Za-z0-9_]+", "_", value.strip()).strip("_").upper()
            hint = f' (e.g. "{fixed}")' if normalise_attribute(fixed) else ""
            self.report(path, f"{_quote(value)} is not a name Brevo accepts for an attribute: letters, "
                              f"digits and _ only, starting with a letter{hint}")
        return normalised

    def source(self, value: Any, path: KeyPath) -> AttributeSource | None:
        """A person_mapping source (the key of a line, or ``options.report.attribution_field``)."""
        if not isinstance(value, str):
            self.report(path, f"expected a Pipedrive field name, found {_describe(value)}")
            return None
        parsed = parse_source(value)
        if parsed is None:
            self.report(path, f"unknown attribute source {_quote(value)}{_suggest_source(value)}; "
                              f"{_SOURCE_CHOICES}")
        return parsed


_SOURCE_CHOICES = (
    f"a source is a person field ({_choices(sorted(PERSON_FIELDS))}), "
    f"a computed field ({_choices(COMPUTED_FIELDS)}), "
    f"org_id.<organization field> ({_choices(ORGANIZATION_FIELDS)}, address.<part>), "
    f"owner_id.<user field> ({_choices(USER_FIELDS)}), "
    f"postal_address.<part> ({_choices(ADDRESS_PARTS)})"
    ", or custom_fields.<key or name of a person custom field>"
)


def _suggest_source(text: str) -> str:
    candidates = [*PERSON_FIELDS, *COMPUTED_FIELDS, *sorted(VALID_PATHS)]
    if "." in text:  # "custom_field.x" or "customfields.x" → "custom_fields.x"
        head, tail = text.split(".", 1)
        if difflib.SequenceMatcher(None, head, "custom_fields").ratio() >= 0.75 and tail.strip():
            return f" (did you mean {_quote(CUSTOM_PREFIX + tail)}?)"
    return _suggest(text, candidates)


# ---------------------------------------------------------------------------------------------
# The sections
# ---------------------------------------------------------------------------------------------

TOP_LEVEL_KEYS: tuple[str, ...] = (
    "connectors", "person_mapping", "deal_stage_mapping", "webhooks", "options", "reverse_mapping")
CONNECTOR_KEYS: tuple[str, ...] = ("enabled", "conn_id", "api_token", "company_domain", "sync", "lists")
OPTION_KEYS: tuple[str, ...] = (
    "default_phone_region", "currency", "create_missing_attributes", "leads_list", "delete_behavior",
    "notify", "reverse", "report")


def _read_connector(c: _Checker, value: Any) -> tuple[PipedriveConnector, list[str]]:
    connectors = c.section(value, ("connectors",), ("pipedrive",)) or {}
    path: KeyPath = ("connectors", "pipedrive")
    raw = c.section(connectors.get("pipedrive"), path, CONNECTOR_KEYS) or {}
    notes: list[str] = []

    conn_id = c.text(raw.get("conn_id"), (*path, "conn_id")) or DEFAULT_CONN_ID
    if not _CONN_ID.fullmatch(conn_id):
        c.report((*path, "conn_id"), f"{_quote(conn_id)} is not an Airflow connection id "
                                      "(letters, digits, _, . and - only), e.g. pipedrive_default")

    domain = c.text(raw.get("company_domain"), (*path, "company_domain"))
    if domain is not None and not _COMPANY_DOMAIN.fullmatch(domain):
        first = domain.split("//")[-1].split(".")[0]
        c.report((*path, "company_domain"), f"{_quote(domain)} is not a Pipedrive company domain: write "
                                             f"only the part before .pipedrive.com, e.g. {_quote(first)}")

    token: Secret | None = None
    raw_token = raw.get("api_token")
    if raw_token is not None:
        if isinstance(raw_token, str) and raw_token.strip():
            token = Secret(raw_token.strip())
            notes.append(
                f"{c.file}: connectors.pipedrive.api_token holds a Pipedrive API token in the mapping "
                f"file. Move it into the Airflow connection {_quote(conn_id)} (its password) and delete "
                f"the key: a token in a file ends up in version control and in backups.")
        else:
            c.report((*path, "api_token"), f"expected the token as a text, found {_describe(raw_token, True)}; "
                                            f"better: delete the key and put the token in the Airflow "
                                            f"connection {_quote(conn_id)}")

    sync_raw = c.section(raw.get("sync"), (*path, "sync"), SYNC_ENTITIES) or {}
    sync = SyncSelection(**{name: c.boolean(sync_raw.get(name), (*path, "sync", name), True)
                            for name in SYNC_ENTITIES})
    lists_raw = c.section(raw.get("lists"), (*path, "lists"), LIST_NAMES) or {}
    lists = BrevoLists(**{name: c.list_id(lists_raw.get(name), (*path, "lists", name)) for name in LIST_NAMES})

    connector = PipedriveConnector(
        enabled=c.boolean(raw.get("enabled"), (*path, "enabled"), True),
        conn_id=conn_id, company_domain=domain, sync=sync, lists=lists, api_token=token)
    return connector, notes


def _read_person_mapping(c: _Checker, value: Any) -> tuple[PersonMappingEntry, ...]:
    path: KeyPath = ("person_mapping",)
    if value is None:
        c.report(path, "the section is missing; it must at least name the identity: email: email")
        return ()
    raw = c.free_mapping(value, path, "Pipedrive sources to Brevo attributes")
    entries: list[PersonMappingEntry] = []
    taken: dict[str, tuple[str, int | None]] = {}
    for key, target in raw.items():
        key_path = (*path, key)
        line = c.line(key_path)
        source = c.source(key, key_path)
        if source is None:
            continue
        if source.text == "email":
            if target not in ("email", IDENTITY_ATTRIBUTE):
                c.report(key_path, f"email is the contact's identity in Brevo and maps to nothing else; "
                                   f"write email: email (found {_describe(target)})")
                continue
            attribute: str | None = IDENTITY_ATTRIBUTE
        else:
            attribute = c.attribute(target, key_path)
            if attribute == IDENTITY_ATTRIBUTE:
                c.report(key_path, "EMAIL is the contact's identity and comes only from the line "
                                   "email: email; choose another attribute name")
                continue
        if attribute is None:
            continue
        if attribute in taken:
            other, other_line = taken[attribute]
            where = f" (line {other_line})" if other_line else ""
            c.report(key_path, f"the Brevo attribute {attribute} is already filled from {_quote(other)}{where}; "
                               "an attribute can have one source only")
            continue
        taken[attribute] = (source.text, line)
        entries.append(PersonMappingEntry(source, attribute, line))
    if isinstance(value, dict) and not any(e.is_identity for e in entries) and "email" not in raw:
        c.report(path, "the identity line email: email is missing; Brevo contacts are keyed by email")
    return tuple(entries)


def _read_stage_key(c: _Checker, key: Any, path: KeyPath) -> int | str | None:
    if _is_int(key) and key > 0:
        return key
    if isinstance(key, str) and re.fullmatch(r"\s*[0-9]+\s*", key) and int(key) > 0:
        return int(key)
    if key in STAGE_STATUSES:
        return key
    suggestion = _suggest(key.lower(), STAGE_STATUSES) if isinstance(key, str) else ""
    c.report(path, f"a stage key must be a Pipedrive stage id (a positive whole number such as 3) or one "
                   f"of {_choices(STAGE_STATUSES)}, found {_describe(key)}{suggestion}")
    return None


def _read_deal_stage_mapping(c: _Checker, value: Any) -> DealStageMapping:
    path: KeyPath = ("deal_stage_mapping",)
    raw = c.free_mapping(value, path, "stage ids (or won/lost) to Brevo list ids")
    stages: dict[int, StageAssignment] = {}
    statuses: dict[str, int | None] = {}
    for key, list_value in raw.items():
        key_path = (*path, key)
        stage = _read_stage_key(c, key, key_path)
        list_id = c.list_id(list_value, key_path)
        if stage is None or list_id is None:
            continue
        if isinstance(stage, str):
            statuses[stage] = list_id
        elif stage in stages:
            c.report(key_path, f"stage {stage} is mapped twice (also on line {stages[stage].line})")
        else:
            stages[stage] = StageAssignment(stage, list_id, c.line(key_path))
    return DealStageMapping(tuple(sorted(stages.values(), key=lambda s: s.stage_id)),
                            statuses.get("won"), statuses.get("lost"))


WEBHOOK_KEYS: tuple[str, ...] = ("event_action", "event_object", "brevo_event")


def _read_webhooks(c: _Checker, value: Any) -> tuple[WebhookRule, ...]:
    path: KeyPath = ("webhooks",)
    if value is None:
        return ()
    if not isinstance(value, list):
        c.report(path, f"expected a list of {{event_action, event_object, brevo_event}} items, "
                       f"found {_describe(value)}")
        return ()
    rules: list[WebhookRule] = []
    seen: dict[tuple[str, str], int | None] = {}
    for index, item in enumerate(value):
        item_path = (*path, index)
        raw = c.section(item, item_path, WEBHOOK_KEYS, required=WEBHOOK_KEYS)
        if raw is None:
            continue
        action = raw.get("event_action")
        obj = raw.get("event_object")
        event = raw.get("brevo_event")
        ok = True
        if action is not None and action not in EVENT_ACTIONS:
            c.report((*item_path, "event_action"),
                     f"{_describe(action)} is not a Pipedrive webhook action{_suggest(str(action), EVENT_ACTIONS)}; "
                     f"valid: {_choices(V1_EVENT_ACTIONS)} (webhooks v1), {_choices(V2_EVENT_ACTIONS)} "
                     f"(webhooks v2) or *")
            ok = False
        if obj is not None and obj not in EVENT_OBJECTS:
            c.report((*item_path, "event_object"),
                     f"{_describe(obj)} is not a Pipedrive webhook object{_suggest(str(obj), EVENT_OBJECTS)}; "
                     f"valid: {_choices(EVENT_OBJECTS)}")
            ok = False
        if event is not None and not (isinstance(event, str) and _BREVO_EVENT_NAME.fullmatch(event)):
            fixed = re.sub(r"[^A-Za-z0-9_-]+", "_", str(event)).strip("_")[:255]
            hint = f' (e.g. "{fixed}")' if fixed else ""
            c.report((*item_path, "brevo_event"),
                     f"{_describe(event)} is not a Brevo event name: 1 to 255 letters, digits, _ or -{hint}")
            ok = False
        if not ok or action is None or obj is None or event is None:
            continue
        line = c.line(item_path)
        if (action, obj) in seen:
            c.report(item_path, f"{action}.{obj} already has a rule (line {seen[(action, obj)]}); "
                                "one Pipedrive event can become one Brevo event only")
            continue
        seen[(action, obj)] = line
        rules.append(WebhookRule(action, obj, event, line))
    return tuple(rules)


def _read_currency(c: _Checker, value: Any) -> CurrencyOptions:
    path: KeyPath = ("options", "currency")
    if value is None:
        return CurrencyOptions()
    raw = c.section(value, path, ("base", "rates"), required=("base",))
    if raw is None:
        return CurrencyOptions()
    base = raw.get("base")
    if base is not None and not (isinstance(base, str) and _CURRENCY_CODE.fullmatch(base)):
        c.report((*path, "base"), _currency_message(base))
        base = None
    rates: dict[str, float] = {}
    for code, rate in c.free_mapping(raw.get("rates"), (*path, "rates"), "currency codes to rates").items():
        code_path = (*path, "rates", code)
        if not (isinstance(code, str) and _CURRENCY_CODE.fullmatch(code)):
            c.report(code_path, _currency_message(code))
            continue
        if not ((_is_int(rate) or isinstance(rate, float)) and math.isfinite(rate) and rate > 0):
            c.report(code_path, f"a rate must be a positive number (the value of one {code} in "
                                f"{base or 'the base currency'}), found {_describe(rate)}")
            continue
        if code == base and rate != 1:
            c.report(code_path, f"{code} is the base currency, so its rate is 1 (found {rate}); remove it")
            continue
        rates[code] = float(rate)
    return CurrencyOptions(base or "EUR", tuple(sorted(rates.items())))


def _currency_message(code: Any) -> str:
    hint = f' (e.g. "{code.strip().upper()}")' if isinstance(code, str) and _CURRENCY_CODE.fullmatch(
        code.strip().upper()) else ""
    found = "the boolean false (YAML reads NO as false: quote it)" if code is False else _describe(code)
    return f"a currency must be an ISO 4217 code of three capital letters such as EUR or USD, found {found}{hint}"


def _read_notify(c: _Checker, value: Any) -> NotifyOptions | None:
    path: KeyPath = ("options", "notify")
    if value is None:
        return None
    raw = c.section(value, path, ("webhook_url", "events"), required=("webhook_url",))
    if raw is None or raw.get("webhook_url") is None:
        return None
    url = raw["webhook_url"]
    url_path = (*path, "webhook_url")
    if not isinstance(url, str):
        c.report(url_path, f"expected a URL, found {_describe(url, True)}")
        return None
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    secure = parts.scheme == "https" and host
    local = parts.scheme == "http" and host and _is_loopback(host)
    if not (secure or local):
        # The URL itself is not quoted: webhook URLs often carry a secret in their path or query.
        c.report(url_path, f"the URL must start with https:// (plain http:// only for loopback hosts such as "
                           f"127.0.0.1 or localhost); found scheme {_quote(parts.scheme or '(none)')}")
        return None
    events_raw = raw.get("events")
    events: list[str] = []
    if events_raw is None:
        return NotifyOptions(url.strip())
    if not isinstance(events_raw, list):
        c.report((*path, "events"), f"expected a list of events ({_choices(NOTIFY_EVENTS)}), "
                                    f"found {_describe(events_raw)}")
        return None
    for index, event in enumerate(events_raw):
        if event not in NOTIFY_EVENTS:
            c.report((*path, "events", index),
                     f"{_describe(event)} is not a notification event{_suggest(str(event), NOTIFY_EVENTS)}; "
                     f"valid: {_choices(NOTIFY_EVENTS)}")
        elif event not in events:
            events.append(event)
    return NotifyOptions(url.strip(), tuple(events))


def _read_report(c: _Checker, value: Any) -> ReportOptions:
    path: KeyPath = ("options", "report")
    raw = c.section(value, path, ("formats", "pipeline_ids", "attribution_field", "sql_conn_id", "deal_flow_budget"))
    if not raw:
        return ReportOptions()
    formats: tuple[str, ...] = REPORT_FORMATS
    if raw.get("formats") is not None:
        if isinstance(raw["formats"], list) and raw["formats"]:
            formats = tuple(dict.fromkeys(
                c.choice(f, (*path, "formats", i), REPORT_FORMATS, "csv") for i, f in enumerate(raw["formats"])))
        else:
            c.report((*path, "formats"), f"expected a non-empty list of formats ({_choices(REPORT_FORMATS)}), "
                                         f"found {_describe(raw['formats'])}")
    pipeline_ids: list[int] = []
    if raw.get("pipeline_ids") is not None:
        if isinstance(raw["pipeline_ids"], list):
            for i, pid in enumerate(raw["pipeline_ids"]):
                if _is_int(pid) and pid > 0:
                    pipeline_ids.append(pid)
                else:
                    c.report((*path, "pipeline_ids", i), f"a pipeline id must be a positive whole number, "
                                                         f"found {_describe(pid)}")
        else:
            c.report((*path, "pipeline_ids"),
                     f"expected a list of pipeline ids, found {_describe(raw['pipeline_ids'])}")
    attribution = None
    if raw.get("attribution_field") is not None:
        attribution = c.source(raw["attribution_field"], (*path, "attribution_field"))
    sql_conn_id = c.text(raw.get("sql_conn_id"), (*path, "sql_conn_id"))
    if sql_conn_id is not None and not _CONN_ID.fullmatch(sql_conn_id):
        c.report((*path, "sql_conn_id"), f"{_quote(sql_conn_id)} is not an Airflow connection id "
                                         "(letters, digits, _, . and - only), e.g. pipeline_report_db")
        sql_conn_id = None
    budget = raw.get("deal_flow_budget")
    if budget is None:
        budget = 0
    elif not _is_int(budget) or budget < 0:
        c.report((*path, "deal_flow_budget"), f"expected a whole number of Pipedrive tokens, 0 or more (0: never "
                                              f"read deal flows; each deal costs 40), found {_describe(budget)}")
        budget = 0
    return ReportOptions(formats, tuple(sorted(set(pipeline_ids))), attribution, sql_conn_id, budget)


def _read_options(c: _Checker, value: Any) -> Options:
    path: KeyPath = ("options",)
    raw = c.section(value, path, OPTION_KEYS)
    if not raw:
        return Options()
    region = raw.get("default_phone_region")
    if region is not None:
        region = _read_region(c, region)
    reverse_raw = c.section(raw.get("reverse"), (*path, "reverse"), ("conflict", "api_key_name")) or {}
    return Options(
        default_phone_region=region,
        currency=_read_currency(c, raw.get("currency")),
        create_missing_attributes=c.boolean(raw.get("create_missing_attributes"),
                                            (*path, "create_missing_attributes"), True),
        leads_list=c.list_id(raw.get("leads_list"), (*path, "leads_list")),
        delete_behavior=c.choice(raw.get("delete_behavior"), (*path, "delete_behavior"),
                                 DELETE_BEHAVIORS, "soft"),  # type: ignore[arg-type]
        notify=_read_notify(c, raw.get("notify")),
        reverse=ReverseOptions(c.choice(reverse_raw.get("conflict"), (*path, "reverse", "conflict"),
                                        CONFLICT_RULES, "pipedrive_wins"),  # type: ignore[arg-type]
                               c.text(reverse_raw.get("api_key_name"), (*path, "reverse", "api_key_name"))
                               or DEFAULT_REVERSE_API_KEY_NAME),
        report=_read_report(c, raw.get("report")),
    )


def _read_region(c: _Checker, region: Any) -> str | None:
    """An ISO 3166 region phonenumbers knows (``DE``, ``US``); lower-case is accepted."""
    import phonenumbers  # imported here: only a file that sets a region pays for it

    path: KeyPath = ("options", "default_phone_region")
    if isinstance(region, str) and region.strip().upper() in phonenumbers.SUPPORTED_REGIONS:
        return region.strip().upper()
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    suggestion = _suggest(region.strip().upper(), regions) if isinstance(region, str) else ""
    c.report(path, f"{_describe(region)} is not a region phone numbers can be parsed for{suggestion}; "
                   f"use a two-letter ISO 3166 code such as DE, FR, GB or US")
    return None


def _read_reverse_mapping(c: _Checker, value: Any) -> tuple[ReverseMappingEntry, ...]:
    path: KeyPath = ("reverse_mapping",)
    raw = c.free_mapping(value, path, "Brevo attributes or statuses to Pipedrive person fields")
    entries: list[ReverseMappingEntry] = []
    targets: dict[str, str] = {}
    valid_targets = (f"{_choices(REVERSE_TARGET_FIELDS)}, custom_fields.<key or name> or "
                     f"{REVERSE_LABEL_PREFIX}<label name> (statuses only)")
    for key, target in raw.items():
        key_path = (*path, key)
        if key in BREVO_STATUSES:
            source, kind = key, "status"
        elif isinstance(key, str) and normalise_attribute(key) and key.lower() not in BREVO_STATUSES:
            source, kind = normalise_attribute(key), "attribute"
        else:
            c.report(key_path, f"{_describe(key)} is not a Brevo source: an attribute name (letters, digits "
                               f"and _, starting with a letter, e.g. NEWSLETTER) or one of {_choices(BREVO_STATUSES)}")
            continue
        if not isinstance(target, str):
            c.report(key_path, f"expected a Pipedrive person field ({valid_targets}), found {_describe(target)}")
            continue
        label = target.strip()[len(REVERSE_LABEL_PREFIX):].strip() if target.strip().startswith(
            REVERSE_LABEL_PREFIX) else None
        parsed = AttributeSource("path", target.strip(), ("label_ids", label)) if label else parse_source(target)
        if label is not None and kind != "status":
            c.report(key_path, f"a label is added or removed, so only a status ({_choices(BREVO_STATUSES)}) "
                               f"can go to {_quote(target)}, not the attribute {source}")
            continue
        if parsed is None or not (parsed.kind in ("custom_field", "path") or target in REVERSE_TARGET_FIELDS):
            c.report(key_path, f"{_quote(target)} is not a person field the sync may write"
                               f"{_suggest(target, REVERSE_TARGET_FIELDS)}; valid: {valid_targets}")
            continue
        if kind == "status" and parsed.kind == "field" and target != "marketing_status":
            c.report(key_path, f"the status {key} is true or false; it can only go to marketing_status "
                               f"or a custom field, or to a label ({REVERSE_LABEL_PREFIX}<label name>), not {_quote(target)}")
            continue
        if target in targets:
            c.report(key_path, f"{_quote(target)} is already written from {targets[target]}; a Pipedrive "
                               "field can have one Brevo source only")
            continue
        targets[target] = str(source)
        entries.append(ReverseMappingEntry(str(source), kind, parsed, c.line(key_path)))  # type: ignore[arg-type]
    return tuple(entries)


def _check_entities(c: _Checker, m: Mapping) -> None:
    """Mapping lines whose data the connector does not extract would be silently empty."""
    sync = m.pipedrive.sync
    need = "connectors.pipedrive.sync"
    for e in m.person_mapping:
        if e.source.kind == "computed" and not sync.deals:
            c.report(("person_mapping", e.source.text), f"a computed deal field needs {need}.deals: true",
                     e.line)
        if e.source.path[0] == "org_id" and e.source.kind == "path" and not sync.organizations:
            c.report(("person_mapping", e.source.text), f"an org_id path needs {need}.organizations: true",
                     e.line)
    if m.deal_stage_mapping.list_ids() and not sync.deals:
        c.report(("deal_stage_mapping",), f"deal_stage_mapping needs {need}.deals: true")
    if m.options.leads_list is not None and not sync.leads:
        c.report(("options", "leads_list"), f"options.leads_list needs {need}.leads: true")


def load_mapping(path: str | Path | None = None) -> Mapping:
    """Read and validate the mapping file; raise :class:`MappingError` listing every mistake.

    ``path`` defaults to ``$PIPEDRIVE_BREVO_MAPPING``, else ``include/mappings/pipedrive_brevo.yaml``
    at the repository root. A seed-style ``api_token`` gives a :class:`MappingWarning`.
    """
    file = Path(path).expanduser() if path is not None else default_mapping_path()
    if not file.is_file():
        origin = f" (named by {ENV_VAR})" if path is None and os.environ.get(ENV_VAR) else ""
        state = "is a folder, not a file" if file.is_dir() else "does not exist"
        raise MappingError(file, [Problem("", None, (
            f"the mapping file {file}{origin} {state}. Create it (the shipped example is "
            f"{DEFAULT_MAPPING_PATH.relative_to(REPO_ROOT)}) or set {ENV_VAR} to the path of another file."))])
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MappingError(file, [Problem("", None, f"the file is not UTF-8 text ({exc.reason})")]) from None

    data, lines, duplicates = _read_yaml(file, text)
    if data is None:
        raise MappingError(file, [Problem("", None, (
            "the file is empty; it needs at least connectors.pipedrive and person_mapping "
            f"(see {DEFAULT_MAPPING_PATH.relative_to(REPO_ROOT)})"))])
    if not isinstance(data, dict):
        raise MappingError(file, [Problem("", 1, (
            f"the top level must be a mapping of sections ({_choices(TOP_LEVEL_KEYS)}), "
            f"found {_describe(data)}"))])

    c = _Checker(file, lines)
    c.problems.extend(duplicates)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            c.report((key,), f"unknown section {_quote(str(key))}{_suggest(str(key), TOP_LEVEL_KEYS)}; "
                             f"valid sections: {_choices(TOP_LEVEL_KEYS)}")
    connector, notes = _read_connector(c, data.get("connectors"))
    mapping = Mapping(
        pipedrive=connector,
        person_mapping=_read_person_mapping(c, data.get("person_mapping")),
        deal_stage_mapping=_read_deal_stage_mapping(c, data.get("deal_stage_mapping")),
        webhooks=_read_webhooks(c, data.get("webhooks")),
        options=_read_options(c, data.get("options")),
        reverse_mapping=_read_reverse_mapping(c, data.get("reverse_mapping")),
        file=file,
        warnings=tuple(notes),
    )
    _check_entities(c, mapping)
    if c.problems:
        raise MappingError(file, sorted(c.problems, key=lambda p: (p.line or 0)))
    for note in notes:
        warnings.warn(note, MappingWarning, stacklevel=2)
    return mapping


def mapping_to_dict(mapping: Mapping) -> dict[str, Any]:
    """The mapping as plain data in the file's own format; :func:`load_mapping` reads it back.

    The api_token is never written out (it belongs in the connection).
    """
    connector = mapping.pipedrive
    pipedrive: dict[str, Any] = {
        "enabled": connector.enabled,
        "conn_id": connector.conn_id,
        "sync": {name: getattr(connector.sync, name) for name in SYNC_ENTITIES},
        "lists": {name: getattr(connector.lists, name) for name in LIST_NAMES
                  if getattr(connector.lists, name) is not None},
    }
    if connector.company_domain is not None:
        pipedrive["company_domain"] = connector.company_domain
    stages: dict[Any, int] = {s.stage_id: s.list_id for s in mapping.deal_stage_mapping.stages}
    for status in STAGE_STATUSES:
        list_id = mapping.deal_stage_mapping.list_for_status(status)
        if list_id is not None:
            stages[status] = list_id
    o = mapping.options
    options: dict[str, Any] = {
        "currency": {"base": o.currency.base, "rates": dict(o.currency.rates)},
        "create_missing_attributes": o.create_missing_attributes,
        "delete_behavior": o.delete_behavior,
        "reverse": {"conflict": o.reverse.conflict, "api_key_name": o.reverse.api_key_name},
        "report": {"formats": list(o.report.formats), "pipeline_ids": list(o.report.pipeline_ids),
                   "deal_flow_budget": o.report.deal_flow_budget},
    }
    if o.report.sql_conn_id is not None:
        options["report"]["sql_conn_id"] = o.report.sql_conn_id
    if o.report.attribution_field is not None:
        options["report"]["attribution_field"] = o.report.attribution_field.text
    if o.default_phone_region is not None:
        options["default_phone_region"] = o.default_phone_region
    if o.leads_list is not None:
        options["leads_list"] = o.leads_list
    if o.notify is not None:
        options["notify"] = {"webhook_url": o.notify.webhook_url, "events": list(o.notify.events)}
    return {
        "connectors": {"pipedrive": pipedrive},
        "person_mapping": {e.source.text: ("email" if e.is_identity else e.attribute)
                           for e in mapping.person_mapping},
        "deal_stage_mapping": stages,
        "webhooks": [{"event_action": w.event_action, "event_object": w.event_object,
                      "brevo_event": w.brevo_event} for w in mapping.webhooks],
        "options": options,
        "reverse_mapping": {r.source: r.target.text for r in mapping.reverse_mapping},
    }


# ---------------------------------------------------------------------------------------------
# Step 2: checks against the account's definitions (pure; the caller fetched them)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldOption:
    """An enum/set option of a custom field: the id Pipedrive stores and the label Brevo gets."""

    id: int | str
    label: str


@dataclass(frozen=True)
class CustomField:
    """A person custom field definition (v2 ``personFields`` shape), as a mapping line resolved to."""

    key: str
    name: str
    field_type: str
    options: tuple[FieldOption, ...] = ()

    def label_for(self, option_id: int | str) -> str | None:
        return next((o.label for o in self.options if str(o.id) == str(option_id)), None)


@dataclass(frozen=True)
class ResolvedMapping:
    """A mapping whose ``custom_fields.<ref>`` sources are each tied to one account field."""

    mapping: Mapping
    custom_fields: tuple[tuple[str, CustomField], ...]

    def field_for(self, source: AttributeSource | str) -> CustomField:
        """The definition behind ``custom_fields.<ref>`` (an AttributeSource or its ref)."""
        ref = source.ref if isinstance(source, AttributeSource) else source
        for known, definition in self.custom_fields:
            if known == ref:
                return definition
        raise KeyError(f"custom field reference {ref!r} is not in this mapping")

    def by_ref(self) -> dict[str, CustomField]:
        return dict(self.custom_fields)


def _is_custom(definition: dict[str, Any]) -> bool:
    flag = definition.get("is_custom_field")
    if flag is None:
        return bool(_CUSTOM_FIELD_KEY.fullmatch(str(definition.get("field_code", ""))))
    return bool(flag)


def _to_custom_field(definition: dict[str, Any]) -> CustomField:
    options = tuple(FieldOption(o.get("id"), str(o.get("label", "")))
                    for o in (definition.get("options") or []) if isinstance(o, dict))
    return CustomField(str(definition["field_code"]), str(definition.get("field_name") or ""),
                       str(definition.get("field_type") or ""), options)


def resolve_custom_fields(mapping: Mapping, person_fields: list[dict[str, Any]]) -> ResolvedMapping:
    """Tie every ``custom_fields.<ref>`` to one of the account's person custom fields.

    ``<ref>`` is the 40-character key, or the field's name compared with
    :func:`normalise_field_name`. An unknown reference, or a name two fields share, is a
    :class:`MappingError` naming the file, the key, the line and the valid names.
    """
    fields = [_to_custom_field(d) for d in person_fields if isinstance(d, dict) and d.get("field_code")
              and _is_custom(d)]
    by_key = {f.key: f for f in fields}
    by_name: dict[str, list[CustomField]] = {}
    for f in fields:
        by_name.setdefault(normalise_field_name(f.name), []).append(f)
    names = sorted(by_name)
    valid = _choices([f"{_quote(f.name)} ({normalise_field_name(f.name)})"
                      for f in sorted(fields, key=lambda f: f.name.casefold())]) or "(none)"

    problems: list[Problem] = []
    resolved: dict[str, CustomField] = {}
    for key_path, source, line in mapping.custom_field_sources():
        ref = source.ref or ""
        if ref in resolved:
            continue
        if ref.strip().lower() in by_key:
            resolved[ref] = by_key[ref.strip().lower()]
            continue
        matches = by_name.get(normalise_field_name(ref), [])
        if len(matches) == 1:
            resolved[ref] = matches[0]
        elif matches:
            keys = ", ".join(f"{_quote(f.name)} (key {f.key})" for f in matches)
            problems.append(Problem(key_path, line, (
                f"the name {_quote(ref)} matches {len(matches)} custom fields: {keys}; write the "
                f"40-character key instead, e.g. custom_fields.{matches[0].key}")))
        else:
            what = "key" if _CUSTOM_FIELD_KEY.fullmatch(ref.strip().lower()) else "key or name"
            problems.append(Problem(key_path, line, (
                f"no person custom field has the {what} {_quote(ref)}"
                f"{_suggest(normalise_field_name(ref), names)}; the account's person custom fields: {valid}")))
    if problems:
        raise MappingError(mapping.file or "(mapping)", problems)
    return ResolvedMapping(mapping, tuple(resolved.items()))


def check_stages(mapping: Mapping, stages: list[dict[str, Any]]) -> None:
    """Raise :class:`MappingError` for each ``deal_stage_mapping`` stage id the account lacks.

    ``stages`` are v2 ``/stages`` items (``id``, ``name``, ``pipeline_id``); a deleted stage
    (``is_deleted: true``) counts as missing, since no open deal can be in it any more.
    """
    known = {s["id"]: s for s in stages
             if isinstance(s, dict) and _is_int(s.get("id")) and not s.get("is_deleted")}
    valid = _choices([f"{sid} ({known[sid].get('name', '')}, pipeline {known[sid].get('pipeline_id', '?')})"
                      for sid in sorted(known)]) or "(none)"
    problems = [
        Problem(format_key_path(("deal_stage_mapping", a.stage_id)), a.line,
                f"the account has no stage {a.stage_id}; its stages: {valid}")
        for a in mapping.deal_stage_mapping.stages if a.stage_id not in known
    ]
    if problems:
        raise MappingError(mapping.file or "(mapping)", problems)
