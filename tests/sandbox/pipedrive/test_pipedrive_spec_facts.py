"""The committed spec facts must say what the vendor's documents say."""

from __future__ import annotations

import pytest

from sandbox.pipedrive.specs import (
    SPEC_FILES,
    derive_spec_facts,
    facts_to_json,
    load_spec_facts,
)


@pytest.mark.skipif(not all(p.is_file() for p in SPEC_FILES.values()), reason="vendor specs not beside the repo")
def test_committed_facts_match_the_vendor_documents():
    derived = derive_spec_facts()
    assert facts_to_json(load_spec_facts()) == facts_to_json(derived), (
        "sandbox/pipedrive/spec_facts.json is stale: run `python -m sandbox.pipedrive.specs`")


def test_costs_are_the_documented_ones():
    facts = load_spec_facts()
    assert facts.operation("v2", "GET", "/persons").cost == 10
    assert facts.operation("v2", "GET", "/deals/archived").cost == 20
    assert facts.operation("v1", "GET", "/leads").cost == 20
    assert facts.operation("v1", "GET", "/leads/archived").cost == 40
    assert "update_time" in facts.operation("v2", "GET", "/persons").allowed("sort_by")
