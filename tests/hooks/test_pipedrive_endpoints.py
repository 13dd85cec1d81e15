"""The hook's table of Pipedrive operations matches the vendor's OpenAPI documents."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from pipedrive_brevo.hooks.pipedrive_endpoints import ENDPOINTS, check_params

SPECS = Path(__file__).resolve().parents[3] / "shared" / "specs" / "pipedrive"


@functools.cache
def spec(version: str) -> dict:
    with open(SPECS / f"openapi-{version}.yaml", encoding="utf-8") as f:
        return yaml.load(f, Loader=yaml.CSafeLoader)


def operation(version: str, method: str, path: str) -> dict:
    document = spec(version)
    assert path in document["paths"], f"{path} is not in openapi-{version}.yaml"
    item = document["paths"][path]
    assert method.lower() in item, f"{method} {path} is not in openapi-{version}.yaml"
    return item[method.lower()]


def query_params(version: str, op: dict) -> set[str]:
    names = set()
    for param in op.get("parameters", []):
        if "$ref" in param:  # resolve a components reference
            ref = param["$ref"].split("/")[-1]
            param = spec(version)["components"]["parameters"][ref]
        if param.get("in") == "query":
            names.add(param["name"])
    return names


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_query_parameters_and_token_cost_match_the_spec(name):
    endpoint = ENDPOINTS[name]
    op = operation(endpoint.version, endpoint.method, endpoint.spec_path)
    assert endpoint.params == query_params(endpoint.version, op)
    assert endpoint.cost == op["x-token-cost"]


def test_a_misspelled_parameter_is_refused_before_sending():
    with pytest.raises(ValueError) as info:
        check_params("persons", {"updated_sinc": "2026-01-01T00:00:00Z", "limit": 500})
    assert "updated_sinc" in str(info.value) and "GET /api/v2/persons" in str(info.value)
    assert "updated_since" in str(info.value)  # the message lists what is valid
    check_params("persons", {"updated_since": "x", "limit": 500})  # valid names pass


def test_v1_leads_take_no_updated_until_and_archived_leads_no_updated_since():
    with pytest.raises(ValueError):
        check_params("leads", {"updated_until": "x"})
    with pytest.raises(ValueError):
        check_params("leads_archived", {"updated_since": "x"})
