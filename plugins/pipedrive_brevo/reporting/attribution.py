"""``deals_attribution``: one row per deal, with names, base-currency values and where it came from.

Rules (documented in the README's "Pipeline report" section):

- **Values in the base currency**: ``value_base = value × rate`` with the rates of
  ``options.currency`` (the base-currency value of one unit). A deal in a currency with no rate
  gets ``value_base`` null and ``rate_missing`` true: it is never summed as if it were in the
  base currency, and the aggregates count such deals in a column of their own.
- **Weighted value**: ``value × probability_used / 100``, where ``probability_used`` is the deal's
  own probability, else its stage's ``deal_probability``, for an open deal; 100 for a won deal
  and 0 for a lost one (its outcome is known).
- **Lead source** (``lead_source``, ``lead_source_from`` says which rule gave it), the first that
  has a value: the person's ``options.report.attribution_field`` if configured, else the person
  field the mapping fills from a custom field named like ``lead_source`` (``person_field``); the
  deal's own custom field named "Lead source" (``deal_field``); the source lead's ``source_name``
  (``source_lead``). Pipedrive's ``origin``, ``origin_id``, ``channel`` (its option label) and
  ``channel_id`` are columns of their own.
- **Source lead**: v2 deals name the lead they were converted from in ``source_lead_id``, an
  opt-in field (``include_fields=source_lead_id``); the lead's ``source_name`` comes from the
  leads snapshot. A deal snapshot without the field gives null (v1 leads carry no deal id).
- Custom fields are shown by name with option labels, through the sync's own typing
  (:func:`pipedrive_brevo.transform.fields.type_values`): ``person_<attribute>`` for each person
  custom field the mapping sends to Brevo, ``deal_<field name>`` for every deal custom field.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from pipedrive_brevo.config import (
    AttributeSource,
    CurrencyOptions,
    FieldOption,
    Mapping,
    ResolvedMapping,
    normalise_field_name,
    resolve_custom_fields,
)
from pipedrive_brevo.reporting.as_of import stage_table
from pipedrive_brevo.reporting.inputs import ReportInputs
from pipedrive_brevo.transform import records
from pipedrive_brevo.transform.fields import PIPEDRIVE_TO_BREVO, AttributeSpec, attribute_specs, type_values
from pipedrive_brevo.transform.identity import person_lists, primary_values

#: The columns every ``deals_attribution`` has, in order; custom field columns follow them.
COLUMNS: tuple[str, ...] = (
    "report_date", "deal_id", "title", "pipeline_id", "pipeline_name", "stage_id", "stage_name", "stage_order",
    "status", "state_from", "value", "currency", "base_currency", "value_base", "rate_missing",
    "probability", "stage_probability", "probability_used", "weighted_value", "weighted_value_base",
    "add_time", "won_time", "lost_time", "close_time", "days_to_close",
    "owner_id", "owner_name", "person_id", "contact_email", "org_id", "org_name",
    "lead_source", "lead_source_from", "origin", "origin_id", "channel", "channel_id",
    "source_lead_id", "source_lead_source",
)
LEAD_SOURCE = "lead_source"


def base_values(value: pd.Series, currency: pd.Series, options: CurrencyOptions) -> pd.Series:
    """Each value in the base currency (Float64); null where the currency has no rate."""
    rates = {code: options.rate(code) for code in currency.dropna().unique()}
    rate = currency.map(rates).astype("Float64")
    return (value.astype("Float64") * rate).round(2)


def deals_attribution(deals: pd.DataFrame, inputs: ReportInputs, mapping: Mapping, report_date: str) -> pd.DataFrame:
    """The ``deals_attribution`` table from :func:`.as_of.deals_as_of`'s frame."""
    stages = stage_table(inputs.stages)
    pipelines = _names(inputs.pipelines)
    users = _names(inputs.users)
    currency = mapping.options.currency

    stage_probability = pd.Series(stages["deal_probability"].reindex(deals["stage_id"]).to_numpy(),
                                  index=deals.index, dtype="Float64")
    used = deals["probability"].fillna(stage_probability)
    used = used.mask(deals["status"] == "won", 100.0).mask(deals["status"] == "lost", 0.0)
    value_base = base_values(deals["value"], deals["currency"], currency)
    days = (deals["close_time"] - deals["add_time"]).dt.total_seconds() / 86400

    persons = _by_id(inputs.persons)
    out = pd.DataFrame({
        "report_date": str(report_date),
        "deal_id": deals["deal_id"], "title": deals["title"],
        "pipeline_id": deals["pipeline_id"], "pipeline_name": _lookup(pipelines, deals["pipeline_id"]),
        "stage_id": deals["stage_id"],
        "stage_name": pd.Series(stages["name"].reindex(deals["stage_id"]).to_numpy(), index=deals.index, dtype="string"),
        "stage_order": pd.Series(stages["order_nr"].reindex(deals["stage_id"]).to_numpy(), index=deals.index,
                                 dtype="Int64"),
        "status": deals["status"], "state_from": deals["state_from"],
        "value": deals["value"], "currency": deals["currency"], "base_currency": currency.base,
        "value_base": value_base, "rate_missing": value_base.isna().astype(bool),
        "probability": deals["probability"], "stage_probability": stage_probability, "probability_used": used,
        "weighted_value": (deals["value"].astype("Float64") * used / 100).round(2),
        "weighted_value_base": (value_base * used / 100).round(2),
        "add_time": deals["add_time"], "won_time": deals["won_time"], "lost_time": deals["lost_time"],
        "close_time": deals["close_time"], "days_to_close": days.round(2).astype("Float64"),
        "owner_id": deals["owner_id"], "owner_name": _lookup(users, deals["owner_id"]),
        "person_id": deals["person_id"], "contact_email": _emails(persons, deals["person_id"]),
        "org_id": deals["org_id"], "org_name": _lookup(_org_names(inputs.organizations), deals["org_id"]),
        "origin": deals["origin"], "origin_id": deals["origin_id"],
        "channel": _channel_labels(deals["channel"], inputs.deal_fields), "channel_id": deals["channel_id"],
        "source_lead_id": deals["source_lead_id"],
    }, index=deals.index)
    out["source_lead_source"] = _lookup(_lead_sources(inputs.leads), deals["source_lead_id"])

    resolved = resolve_custom_fields(mapping, inputs.person_fields)
    person_columns = _person_custom_columns(resolved, inputs.person_fields, persons, deals["person_id"])
    deal_columns = _deal_custom_columns(deals, inputs.deal_fields)
    attributed = _attribution_value(mapping, resolved, inputs, persons, deals["person_id"])
    lead_source, lead_source_from = _lead_source(attributed, person_columns, deal_columns, out["source_lead_source"])
    out["lead_source"], out["lead_source_from"] = lead_source, lead_source_from
    out = out[list(COLUMNS)]
    extra = pd.DataFrame({**person_columns, **deal_columns}, index=deals.index)
    return pd.concat([out, extra], axis=1).reset_index(drop=True)


# ------------------------------------------------------------------------------------ lookups

def _names(items: list[dict[str, Any]]) -> pd.Series:
    frame = pd.DataFrame(items)
    if not len(frame) or "id" not in frame:
        return pd.Series(dtype="string", index=pd.Index([], dtype="Int64"))
    return pd.Series(records.column(frame, "name").astype("string").to_numpy(), index=records.ids(frame["id"]))


def _lookup(table: pd.Series, keys: pd.Series) -> pd.Series:
    table = table[~table.index.duplicated(keep="last")]
    return pd.Series(table.reindex(keys).to_numpy(), index=keys.index, dtype="string")


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    if not len(frame) or "id" not in frame:
        return pd.DataFrame(index=pd.Index([], dtype="Int64"))
    keyed = frame.assign(_id=records.ids(frame["id"])).dropna(subset="_id")
    return keyed.drop_duplicates("_id", keep="last").set_index("_id")


def _emails(persons: pd.DataFrame, person_id: pd.Series) -> pd.Series:
    if not len(persons):
        return pd.Series(pd.NA, index=person_id.index, dtype="string")
    emails = primary_values(person_lists(persons, "emails", "email")).astype("string").str.strip().str.lower()
    return _lookup(emails.mask(emails == ""), person_id)


def _org_names(organizations: pd.DataFrame) -> pd.Series:
    orgs = _by_id(organizations)
    return records.column(orgs, "name").astype("string")


def _lead_sources(leads: pd.DataFrame) -> pd.Series:
    if not len(leads) or "id" not in leads:
        return pd.Series(dtype="string")
    table = pd.Series(records.column(leads, "source_name").astype("string").to_numpy(),
                      index=leads["id"].astype("string"))
    return table[~table.index.duplicated(keep="last")]


def _channel_labels(channel: pd.Series, deal_fields: list[dict[str, Any]]) -> pd.Series:
    definition = next((f for f in deal_fields if f.get("field_code") == "channel"), {})
    labels = {int(o["id"]): str(o.get("label")) for o in definition.get("options") or () if "id" in o}
    text = channel.map(labels).astype("string")
    return text.fillna(channel.astype("string"))


# ------------------------------------------------------------------------------ custom fields

def _report_spec(spec: AttributeSpec) -> AttributeSpec:
    """The spec typed for a report column: numbers stay numbers, everything else is text (labels)."""
    natural = PIPEDRIVE_TO_BREVO.get(spec.pipedrive_type, "text")
    return replace(spec, brevo_type="float" if natural == "float" else "text")


def _column_of(frame: pd.DataFrame, spec: AttributeSpec) -> pd.Series:
    if spec.field_key is not None:
        return records.nested(records.column(frame, "custom_fields"), spec.field_key)
    return records.column(frame, spec.source.text)


def _person_custom_columns(resolved: ResolvedMapping, person_fields: list[dict[str, Any]], persons: pd.DataFrame,
                           person_id: pd.Series) -> dict[str, pd.Series]:
    columns: dict[str, pd.Series] = {}
    for spec in attribute_specs(resolved, None, person_fields=person_fields):
        if spec.source.kind != "custom_field":
            continue
        typed = type_values(_column_of(persons, spec), _report_spec(spec)).values if len(persons) else pd.Series()
        values = typed.reindex(person_id.to_numpy())
        columns[f"person_{spec.attribute.lower()}"] = pd.Series(values.to_numpy(), index=person_id.index,
                                                                dtype=typed.dtype if len(typed) else "string")
    return columns


def _deal_custom_columns(deals: pd.DataFrame, deal_fields: list[dict[str, Any]]) -> dict[str, pd.Series]:
    columns: dict[str, pd.Series] = {}
    for definition in deal_fields:
        if not definition.get("is_custom_field") or not definition.get("field_code"):
            continue
        key, name = str(definition["field_code"]), str(definition.get("field_name") or definition["field_code"])
        options = tuple(FieldOption(o.get("id"), str(o.get("label", "")))
                        for o in definition.get("options") or () if isinstance(o, dict))
        spec = AttributeSpec(name, AttributeSource("custom_field", f"custom_fields.{key}", ("custom_fields", key)),
                             str(definition.get("field_type") or "varchar"), "text", options, None, key)
        column = f"deal_{normalise_field_name(name)}"
        if column in columns:
            column = f"{column}_{key[:8]}"
        columns[column] = type_values(_column_of(deals, spec), _report_spec(spec)).values
    return columns


def _attribution_value(mapping: Mapping, resolved: ResolvedMapping, inputs: ReportInputs, persons: pd.DataFrame,
                       person_id: pd.Series) -> pd.Series | None:
    """The person's ``options.report.attribution_field`` per deal as text, None when not configured."""
    source = mapping.options.report.attribution_field
    if source is None:
        return None
    if source.kind == "custom_field":
        definition = resolved.field_for(source)
        spec = AttributeSpec("ATTRIBUTION", source, definition.field_type, "text", definition.options, None,
                             definition.key)
        values = type_values(_column_of(persons, spec), _report_spec(spec)).values if len(persons) else pd.Series()
    elif source.kind == "path" and source.path[0] == "org_id":
        orgs = _by_id(inputs.organizations)
        by_org = records.column(orgs, source.path[1]).astype("string")
        values = _lookup(by_org, records.ids(records.column(persons, "org_id")))
        values.index = persons.index
    elif source.kind == "path" and source.path[0] == "owner_id":
        owners = _by_id(pd.DataFrame(inputs.users))
        values = _lookup(records.column(owners, source.path[1]).astype("string"),
                         records.ids(records.column(persons, "owner_id")))
        values.index = persons.index
    else:
        values = records.column(persons, source.path[0]).astype("string")
    values = values.astype("string") if len(values) else pd.Series(dtype="string")
    return pd.Series(values.reindex(person_id.to_numpy()).to_numpy(), index=person_id.index, dtype="string")


def _lead_source(attributed: pd.Series | None, person_columns: dict[str, pd.Series],
                 deal_columns: dict[str, pd.Series], source_lead: pd.Series) -> tuple[pd.Series, pd.Series]:
    index = source_lead.index
    candidates: list[tuple[str, pd.Series | None]] = []
    if attributed is not None:
        candidates.append(("person_field", attributed))
    else:
        mapped = next((c for name, c in person_columns.items() if name.removeprefix("person_") == LEAD_SOURCE), None)
        if mapped is None:
            mapped = next((c for name, c in person_columns.items() if LEAD_SOURCE in name), None)
        candidates.append(("person_field", mapped))
    candidates.append(("deal_field", deal_columns.get(f"deal_{LEAD_SOURCE}")))
    candidates.append(("source_lead", source_lead))
    value = pd.Series(pd.NA, index=index, dtype="string")
    origin = pd.Series(pd.NA, index=index, dtype="string")
    for name, column in candidates:
        if column is None:
            continue
        text = column.astype("string")
        fill = value.isna() & text.notna()
        value[fill], origin[fill] = text[fill], name
    return value, origin
