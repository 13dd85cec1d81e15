"""The Pipedrive operations the hook calls: path, accepted query parameters, token cost, paging.

Pipedrive silently ignores a query parameter it does not know (research §8): a misspelled
``updated_since`` returns the whole collection with a 200 and costs a full extraction. So the
hook refuses, before sending, any parameter not listed here, and ``tests/hooks/
test_pipedrive_endpoints.py`` checks this table against the vendor's OpenAPI documents
(``openapi-v2.yaml``, ``openapi-v1.yaml``): names and ``x-token-cost`` must match the spec's.
"""

from __future__ import annotations

from dataclasses import dataclass

CURSOR, OFFSET, SINGLE = "cursor", "offset", "single"

_V2_LIST_COMMON = ("filter_id", "ids", "owner_id", "updated_since", "updated_until", "sort_by",
                   "sort_direction", "include_fields", "custom_fields", "limit", "cursor")
_LABELS = ("include_option_labels", "include_labels")


@dataclass(frozen=True)
class Endpoint:
    """One operation. ``spec_path`` is the path as the spec's ``paths`` writes it."""

    method: str
    version: str  # "v2" | "v1": which spec document, and the URL prefix
    spec_path: str
    params: frozenset[str]
    cost: int
    paging: str = SINGLE

    @property
    def prefix(self) -> str:
        return "/api/v2" if self.version == "v2" else "/v1"

    def path(self, **path_params: object) -> str:
        return self.prefix + self.spec_path.format(**path_params)


def _ep(method: str, version: str, spec_path: str, params: tuple[str, ...], cost: int, paging: str = SINGLE) -> Endpoint:
    return Endpoint(method, version, spec_path, frozenset(params), cost, paging)


ENDPOINTS: dict[str, Endpoint] = {
    # v2 collections (cursor pages)
    "persons": _ep("GET", "v2", "/persons", _V2_LIST_COMMON + ("org_id", "deal_id") + _LABELS, 10, CURSOR),
    "organizations": _ep("GET", "v2", "/organizations", _V2_LIST_COMMON + _LABELS, 10, CURSOR),
    "deals": _ep("GET", "v2", "/deals", _V2_LIST_COMMON + ("person_id", "org_id", "pipeline_id", "stage_id",
                                                            "status") + _LABELS, 10, CURSOR),
    "deals_archived": _ep("GET", "v2", "/deals/archived", _V2_LIST_COMMON + ("person_id", "org_id", "pipeline_id",
                                                                             "stage_id", "status"), 20, CURSOR),
    "activities": _ep("GET", "v2", "/activities",
                      tuple(p for p in _V2_LIST_COMMON if p != "custom_fields")
                      + ("deal_id", "lead_id", "person_id", "org_id", "done"), 10, CURSOR),
    "pipelines": _ep("GET", "v2", "/pipelines", ("sort_by", "sort_direction", "limit", "cursor"), 5, CURSOR),
    "stages": _ep("GET", "v2", "/stages", ("pipeline_id", "sort_by", "sort_direction", "limit", "cursor"), 5, CURSOR),
    "personFields": _ep("GET", "v2", "/personFields", ("include_fields", "limit", "cursor"), 10, CURSOR),
    "dealFields": _ep("GET", "v2", "/dealFields", ("include_fields", "limit", "cursor"), 10, CURSOR),
    "organizationFields": _ep("GET", "v2", "/organizationFields", ("include_fields", "limit", "cursor"), 10, CURSOR),
    # v2 single records
    "person": _ep("GET", "v2", "/persons/{id}", ("include_fields", "custom_fields") + _LABELS, 1),
    "update_person": _ep("PATCH", "v2", "/persons/{id}", (), 5),
    # v1 (leads, users, activity types and webhooks have no v2 list)
    "leads": _ep("GET", "v1", "/leads", ("limit", "start", "owner_id", "person_id", "organization_id", "filter_id",
                                         "updated_since", "sort"), 20, OFFSET),
    "leads_archived": _ep("GET", "v1", "/leads/archived", ("limit", "start", "owner_id", "person_id",
                                                           "organization_id", "filter_id", "sort"), 40, OFFSET),
    "leadLabels": _ep("GET", "v1", "/leadLabels", (), 10, OFFSET),
    "users": _ep("GET", "v1", "/users", (), 20, OFFSET),
    "users_me": _ep("GET", "v1", "/users/me", (), 2),
    "activityTypes": _ep("GET", "v1", "/activityTypes", (), 20, OFFSET),
    "deal_flow": _ep("GET", "v1", "/deals/{id}/flow", ("start", "limit", "all_changes", "items"), 40, OFFSET),
    "webhooks": _ep("GET", "v1", "/webhooks", (), 10),
    "create_webhook": _ep("POST", "v1", "/webhooks", (), 10),
    "delete_webhook": _ep("DELETE", "v1", "/webhooks/{id}", (), 6),
}

# The v2 collections a caller may iterate by name, and the v1 ones.
V2_COLLECTIONS = tuple(name for name, ep in ENDPOINTS.items() if ep.paging == CURSOR)
V1_COLLECTIONS = tuple(name for name, ep in ENDPOINTS.items() if ep.paging == OFFSET)
FIELD_ENDPOINTS = {"person": "personFields", "deal": "dealFields", "organization": "organizationFields"}


def check_params(name: str, params: dict[str, object]) -> None:
    """Raise ValueError naming any parameter ``name`` does not take (Pipedrive would ignore it)."""
    endpoint = ENDPOINTS[name]
    unknown = sorted(set(params) - endpoint.params)
    if unknown:
        valid = ", ".join(sorted(endpoint.params)) or "none"
        raise ValueError(f"{endpoint.method} {endpoint.path(id='{id}')} does not take the query parameter(s) "
                         f"{', '.join(unknown)} (Pipedrive would silently ignore them); valid: {valid}")
