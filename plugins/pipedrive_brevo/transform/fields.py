"""Brevo attributes: which type each mapped attribute has, and values typed to it.

Brevo silently drops an unknown attribute or a value of the wrong type (research/brevo-api.md
§1, §3), so every value is typed here, before it is sent, and whatever cannot be typed is a
reject instead of a silent loss.

**The type of an attribute** (:func:`attribute_specs`). An attribute Brevo already has keeps its
Brevo type: the values are typed to what Brevo will accept (an enum into an existing text
attribute is its label; a set into a text attribute is its labels joined by ``", "``, as the
contract says). An attribute Brevo does not have yet gets the type that fits its Pipedrive field
(:data:`PIPEDRIVE_TO_BREVO`): enum → category, set → multiple-choice, date → date, double, int
and monetary → float, varchar and text → text, the computed counts and LTV → float; the DAG
creates it with that type (:func:`missing_attributes`, ``options.create_missing_attributes``).

**How values are carried** (the contact model of :mod:`.contacts`): one column per Brevo
attribute, its dtype fixed by the Brevo type (:data:`DTYPES`), null meaning "no value":

===============  ==============  ==================================================================
Brevo type       column dtype    value
===============  ==============  ==================================================================
text             ``string``      the text (numbers written without a trailing ``.0``)
category         ``string``      the option label (an enum's id read through the field's options)
date             ``string``      ``YYYY-MM-DD`` (a timestamp's UTC date)
float            ``Float64``     the number (a monetary field's amount)
boolean          ``boolean``     True / False
multiple-choice  ``object``      a tuple of option labels, in the field's option order
===============  ==============  ==================================================================

Typing is vectorised: lookups go through ``Series.map`` with a dict, parsing through
``pd.to_numeric`` / ``pd.to_datetime``; only set values (lists) need a per-row step to become
hashable tuples, after which their labels are looked up once per distinct tuple.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipedrive_brevo.config import AttributeSource, CustomField, FieldOption, ResolvedMapping

BREVO_TYPES: tuple[str, ...] = ("text", "date", "float", "boolean", "category", "multiple-choice")

#: The column dtype that carries each Brevo type in the contact frames.
DTYPES: dict[str, str] = {
    "text": "string", "category": "string", "date": "string",
    "float": "Float64", "boolean": "boolean", "multiple-choice": "object",
}

#: The Brevo type that fits a Pipedrive ``field_type`` (v1 and v2 names). Ids of related records
#: (user, org, person, deal, ...) are numbers; anything unknown is sent as text, never dropped.
PIPEDRIVE_TO_BREVO: dict[str, str] = {
    "varchar": "text", "varchar_auto": "text", "varchar_options": "text", "text": "text",
    "phone": "text", "address": "text", "time": "text", "timerange": "text", "json": "text",
    "status": "text", "picture": "text", "lead": "text",
    "enum": "category", "set": "multiple-choice",
    "date": "date", "daterange": "date",
    "double": "float", "int": "float", "monetary": "float",
    "user": "float", "org": "float", "people": "float", "deal": "float", "pipeline": "float",
    "stage": "float", "product": "float", "project": "float", "visible_to": "float",
    "boolean": "boolean",
}

#: The Pipedrive field type of every built-in source the mapping may name (CONTRACT §4), for
#: when the account's field definitions are not at hand. ``label_ids`` and the organization's
#: ``industry`` carry options; their labels come from the field definitions when given.
BUILTIN_FIELD_TYPES: dict[str, str] = {
    # person fields
    "name": "varchar", "first_name": "varchar", "last_name": "varchar", "email": "varchar",
    "phone": "phone", "job_title": "varchar", "notes": "text", "birthday": "date",
    "add_time": "date", "update_time": "date", "id": "int", "owner_id": "user", "org_id": "org",
    "visible_to": "visible_to", "label_ids": "set", "marketing_status": "status",
    # computed over deals
    "won_deals_count": "int", "lost_deals_count": "int", "open_deals_count": "int",
    "closed_deals_count": "int", "total_revenue": "double",
    # through the organization
    "org_id.id": "int", "org_id.name": "varchar", "org_id.owner_id": "user", "org_id.add_time": "date",
    "org_id.update_time": "date", "org_id.visible_to": "visible_to", "org_id.label_ids": "set",
    "org_id.website": "varchar", "org_id.linkedin": "varchar", "org_id.industry": "enum",
    "org_id.annual_revenue": "double", "org_id.employee_count": "int",
    # through the owner (a user)
    "owner_id.id": "int", "owner_id.name": "varchar", "owner_id.email": "varchar",
}
_TRUE = frozenset({"true", "yes", "y", "1", "on", "ja", "oui", "si", "sí"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "nein", "non"})


@dataclass(frozen=True)
class AttributeSpec:
    """One mapped Brevo attribute: where its value comes from and the type it is sent as.

    ``exists`` is True when Brevo already has the attribute, False when it must be created and
    None when the caller did not say (then nothing is created or dropped).
    """

    attribute: str
    source: AttributeSource
    pipedrive_type: str
    brevo_type: str
    options: tuple[FieldOption, ...] = ()
    exists: bool | None = None
    field_key: str | None = None  # a custom field's 40-character key (values are stored under it)

    @property
    def labels(self) -> tuple[str, ...]:
        """The option labels (the enumeration of a category, the choices of a multiple-choice)."""
        return tuple(o.label for o in self.options)

    @property
    def dtype(self) -> str:
        return DTYPES[self.brevo_type]


def normalise_brevo_type(kind: str | None) -> str | None:
    """Brevo's spelling of an attribute type as one of :data:`BREVO_TYPES` (None if unknown).

    ``GET /contacts/attributes`` gives ``multiple-choice`` (``multipleChoice`` in some SDKs),
    ``category`` for attributes of the category *category*, and ``id``/``user`` types we write as
    text.
    """
    if not kind:
        return None
    text = str(kind).strip().lower().replace("_", "-")
    if text in ("multiplechoice", "multiple-choice", "multi-choice"):
        return "multiple-choice"
    if text in ("number", "float"):
        return "float"
    if text in ("id", "user", "string"):
        return "text"
    return text if text in BREVO_TYPES else None


def attribute_specs(resolved: ResolvedMapping, brevo_attributes: Mapping[str, str] | None = None, *,
                    person_fields: Iterable[Mapping[str, Any]] | None = None,
                    organization_fields: Iterable[Mapping[str, Any]] | None = None) -> tuple[AttributeSpec, ...]:
    """The spec of every mapped attribute (the identity excluded), in mapping order.

    ``brevo_attributes`` maps the account's attribute names to their Brevo types (the DAG reads
    ``GET /contacts/attributes``); ``None`` means unknown. ``person_fields`` and
    ``organization_fields`` (v2 ``*Fields`` items) give the labels of built-in option fields.
    """
    known = {name.upper(): kind for name, kind in (brevo_attributes or {}).items()}
    builtin_options = {
        **_field_options(person_fields),
        **{f"org_id.{code}": options for code, options in _field_options(organization_fields).items()},
    }
    specs = []
    for entry in resolved.mapping.attributes():
        source = entry.source
        key = None
        if source.kind == "custom_field":
            definition: CustomField = resolved.field_for(source)
            pipedrive_type, options, key = definition.field_type, definition.options, definition.key
        else:
            pipedrive_type = BUILTIN_FIELD_TYPES.get(source.text, "varchar")
            options = builtin_options.get(source.text, ())
        natural = PIPEDRIVE_TO_BREVO.get(pipedrive_type, "text")
        existing = normalise_brevo_type(known.get(entry.attribute))
        exists = None if brevo_attributes is None else entry.attribute in known
        specs.append(AttributeSpec(entry.attribute, source, pipedrive_type, existing or natural,
                                   tuple(options), exists, key))
    return tuple(specs)


def missing_attributes(specs: Iterable[AttributeSpec]) -> tuple[AttributeSpec, ...]:
    """The attributes Brevo lacks: the DAG creates each with ``brevo_type`` (and ``labels`` as the
    category enumeration or multiple-choice options) when ``create_missing_attributes`` is on."""
    return tuple(s for s in specs if s.exists is False)


def _field_options(fields: Iterable[Mapping[str, Any]] | None) -> dict[str, tuple[FieldOption, ...]]:
    found: dict[str, tuple[FieldOption, ...]] = {}
    for definition in fields or ():
        code = definition.get("field_code") or definition.get("key")
        options = definition.get("options") or ()
        if code and options:
            found[str(code)] = tuple(FieldOption(o.get("id"), str(o.get("label", ""))) for o in options
                                     if isinstance(o, Mapping))
    return found


# ------------------------------------------------------------------------------- typing values

@dataclass(frozen=True)
class Typed:
    """A column typed for one attribute, and per row the reject reason of a value that could not
    be typed (NA where the value is fine or absent)."""

    values: pd.Series
    problems: pd.Series


def type_values(raw: pd.Series, spec: AttributeSpec) -> Typed:
    """Pipedrive values of ``spec``'s source (one per row) typed for ``spec``'s Brevo attribute."""
    decoded, problems = _decode(raw, spec)
    values, type_problems = _convert(decoded, spec.brevo_type)
    problems = problems.fillna(type_problems)
    return Typed(values, problems)


def _decode(raw: pd.Series, spec: AttributeSpec) -> tuple[pd.Series, pd.Series]:
    """Pipedrive's encoding undone: option ids to labels, amounts and addresses out of their dicts."""
    no_problem = pd.Series(pd.NA, index=raw.index, dtype="string")
    kind = spec.pipedrive_type
    if kind == "enum":
        return _enum_labels(raw, spec.options)
    if kind == "set":
        return _set_labels(raw, spec.options)
    if raw.dtype == object:
        key = {"monetary": "value", "address": "value", "time": "value", "timerange": "value",
               "daterange": "value"}.get(kind)
        if key is not None:
            return raw.map(lambda v: (v.get(key) or v.get("formatted_address")) if isinstance(v, dict) else v,
                           na_action="ignore"), no_problem
    return raw, no_problem


def _label_lookup(options: Sequence[FieldOption]) -> dict[Any, str]:
    """Option id → label, reachable by the int and the text form of the id (v2 sends 12, v1 "12")."""
    lookup: dict[Any, str] = {}
    for option in options:
        lookup[str(option.id)] = option.label
        if isinstance(option.id, int) or str(option.id).isdigit():
            lookup[int(option.id)] = option.label
            lookup[float(int(option.id))] = option.label
    return lookup


def _option_key(value: Any) -> Any:
    """An enum value as a lookup key: ``{"id": 12, "label": ...}`` (include_option_labels) → 12."""
    if isinstance(value, dict):
        return value.get("id")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _enum_labels(raw: pd.Series, options: Sequence[FieldOption]) -> tuple[pd.Series, pd.Series]:
    lookup = _label_lookup(options)
    keys = raw.map(_option_key, na_action="ignore") if raw.dtype == object else raw
    present = keys.notna()
    labels = keys.map(lookup) if lookup else pd.Series(None, index=raw.index, dtype="object")
    if not options:  # no definitions at hand: send the id itself rather than nothing
        labels = keys.where(present)
    unknown = present & labels.isna()
    problems = pd.Series(pd.NA, index=raw.index, dtype="string").mask(unknown, "unknown_option")
    return labels.astype("object").where(present & ~unknown, None), problems


def _set_keys(value: Any) -> tuple[Any, ...] | None:
    """A set value as a tuple of option keys: v2 ``[12, 13]``, v1 ``"12,13"``, label objects."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        items: Iterable[Any] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple, np.ndarray)):
        items = value
    else:
        items = [value]
    keys = tuple(_option_key(item) for item in items)
    return keys or None


def _set_labels(raw: pd.Series, options: Sequence[FieldOption]) -> tuple[pd.Series, pd.Series]:
    lookup = _label_lookup(options)
    order = {option.label: index for index, option in enumerate(options)}
    keys = pd.Series([_set_keys(v) for v in raw], index=raw.index, dtype="object")
    distinct = {k for k in keys if k is not None}
    labels_of: dict[tuple[Any, ...], tuple[tuple[str, ...] | None, bool]] = {}
    for combination in distinct:
        if options:
            found = [lookup.get(k) for k in combination]
            unknown = any(f is None for f in found)
            labels = tuple(sorted({f for f in found if f is not None}, key=order.__getitem__))
        else:
            unknown, labels = False, tuple(dict.fromkeys(str(k) for k in combination))
        labels_of[combination] = (labels or None, unknown)
    values = keys.map(lambda k: labels_of[k][0], na_action="ignore")
    unknown_rows = keys.map(lambda k: k is not None and labels_of[k][1]).astype(bool)
    problems = pd.Series(pd.NA, index=raw.index, dtype="string").mask(unknown_rows, "unknown_option")
    return values.astype("object").where(values.notna(), None), problems


def _convert(values: pd.Series, brevo_type: str) -> tuple[pd.Series, pd.Series]:
    """Decoded values as the column of ``brevo_type`` (see the table in the module docstring)."""
    problems = pd.Series(pd.NA, index=values.index, dtype="string")
    present = values.notna()
    if brevo_type in ("text", "category"):
        return _as_text(values), problems
    if brevo_type == "float":
        numbers = _as_numbers(values)
        bad = present & numbers.isna()
        return numbers, problems.mask(bad, "invalid_number")
    if brevo_type == "date":
        dates = _as_dates(values)
        bad = present & dates.isna() & (_as_text(values).fillna("") != "")
        return dates, problems.mask(bad, "invalid_date")
    if brevo_type == "boolean":
        flags = _as_booleans(values)
        bad = present & flags.isna() & (_as_text(values).fillna("") != "")
        return flags, problems.mask(bad, "invalid_boolean")
    if brevo_type == "multiple-choice":
        return _as_choices(values), problems
    raise ValueError(f"unknown Brevo attribute type {brevo_type!r}; expected one of {BREVO_TYPES}")


def _scalar_text(value: Any) -> Any:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (list, np.ndarray)):
        return ", ".join(str(v) for v in value) or None
    if isinstance(value, dict):
        return value.get("value") or value.get("label") or value.get("name")
    return str(value)


def _as_text(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.StringDtype):
        text = values
    elif values.dtype == object:
        is_str = values.map(lambda v: isinstance(v, str)).astype(bool)
        text = values.where(is_str, values.map(_scalar_text, na_action="ignore"))
        text = text.astype("string")
    elif pd.api.types.is_float_dtype(values.dtype):
        text = values.map(_scalar_text, na_action="ignore").astype("string")
    else:
        text = values.astype("string")
    text = text.str.strip()
    return text.mask(text == "", pd.NA).astype("string")


def _as_numbers(values: pd.Series) -> pd.Series:
    if values.dtype == object:
        values = values.map(lambda v: float(v) if isinstance(v, (bool, np.bool_)) else v, na_action="ignore")
        values = values.map(lambda v: v.strip().replace(",", ".") if isinstance(v, str) else v, na_action="ignore")
    numbers = pd.to_numeric(values, errors="coerce")
    numbers = pd.Series(numbers, index=values.index).astype("Float64")
    finite = numbers.notna() & np.isfinite(numbers.fillna(0).to_numpy(dtype=float))
    return numbers.where(finite)


def _as_dates(values: pd.Series) -> pd.Series:
    text = _as_text(values).str.replace(" ", "T", regex=False)
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    return parsed.dt.strftime("%Y-%m-%d").astype("string")


def _as_booleans(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean")
    text = _as_text(values).str.lower()
    result = pd.Series(pd.NA, index=values.index, dtype="boolean")
    result[text.isin(_TRUE).fillna(False).astype(bool)] = True
    result[text.isin(_FALSE).fillna(False).astype(bool)] = False
    return result


def _as_choices(values: pd.Series) -> pd.Series:
    def choices(value: Any) -> tuple[str, ...] | None:
        if isinstance(value, tuple):
            return value or None
        if isinstance(value, (list, np.ndarray)):
            return tuple(str(v) for v in value) or None
        text = _scalar_text(value)
        return (text,) if text else None
    return values.map(choices, na_action="ignore").astype("object").where(values.notna(), None)


# --------------------------------------------------------------------------- column comparisons

def canonical(series: pd.Series, brevo_type: str | None) -> pd.Series:
    """A column conformed to its dtype, so frames read back from Parquet compare like fresh ones:
    list-like cells (Parquet gives numpy arrays) become tuples, empty ones null."""
    if brevo_type is None or DTYPES.get(brevo_type) == "object":
        def as_tuple(value: Any) -> Any:
            if isinstance(value, (list, tuple, np.ndarray)):
                return tuple(v.item() if isinstance(v, np.generic) else v for v in value) or None
            return None
        return pd.Series(per_distinct(series, as_tuple), index=series.index, dtype="object")
    return series.astype(DTYPES[brevo_type])


def per_distinct(series: pd.Series, convert: Any) -> np.ndarray:
    """``convert`` applied once per distinct value of an object column (NA as None), as an object
    array. Lists and arrays (unhashable, as Parquet gives them back) are made tuples first."""
    values = series.to_numpy(dtype=object)
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    except TypeError:
        values = np.array([tuple(v) if isinstance(v, (list, np.ndarray)) else v for v in values] + [None],
                          dtype=object)[:-1]
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    converted = np.empty(len(uniques) + 1, dtype=object)
    for position, value in enumerate(uniques):
        converted[position] = convert(value)
    converted[-1] = convert(None)
    return converted[codes]


def same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Row-wise "a equals b", with null equal to null (the diff's notion of unchanged).

    Object columns (tuples) are compared by factorizing both together: hashing in C, no Python
    comparison per row.
    """
    a = a.reset_index(drop=True)
    b = b.reset_index(drop=True)
    a_null = a.isna().to_numpy()
    b_null = b.isna().to_numpy()
    if a.dtype == object or b.dtype == object:
        codes, _ = pd.factorize(pd.concat([a, b], ignore_index=True), use_na_sentinel=True)
        equal = codes[: len(a)] == codes[len(a):]
    else:
        equal = a.eq(b).fillna(False).to_numpy(dtype=bool)
    return np.where(a_null | b_null, a_null & b_null, equal)
