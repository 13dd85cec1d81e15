"""Facts the sandbox reads from Pipedrive's own OpenAPI documents instead of hard-coding them.

Each operation in the vendor's specs carries ``x-token-cost``, what a call charges against the
company's daily budget; its query parameters list the values they accept (``sort_by``,
``include_fields``, a lead ``sort``); its request body names the fields a write may set. Reading
them from the documents keeps the sandbox honest when the specs are refreshed: a cost or an
allowed value Pipedrive changes is one the sandbox applies, with no table here to forget.

The documents (``shared/specs/pipedrive`` beside the repository) are not shipped with the product,
so the facts are derived from them once and committed as ``spec_facts.json`` next to this module,
which the sandbox reads at start-up. After refreshing the specs, regenerate it with
``python -m sandbox.pipedrive.specs``; a test fails while the file and the documents disagree.
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sandbox.pipedrive.memory import paused_gc

SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "specs" / "pipedrive"
SPEC_FILES = {"v1": SPEC_DIR / "openapi-v1.yaml", "v2": SPEC_DIR / "openapi-v2.yaml"}
FACTS_FILE = Path(__file__).with_name("spec_facts.json")

_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Operation:
    """What one operation of the spec says about itself."""

    cost: int
    query_enums: dict[str, frozenset[str]]  # query parameter -> allowed values (comma lists split)
    body_fields: dict[str, frozenset[str] | None]  # JSON body property -> its enum, or None
    body_required: frozenset[str]  # JSON body properties the spec requires

    def allowed(self, parameter: str) -> frozenset[str]:
        return self.query_enums.get(parameter, frozenset())


@dataclass(frozen=True)
class SpecFacts:
    operations: dict[tuple[str, str, str], Operation]  # (version, METHOD, path template) -> facts

    def operation(self, version: str, method: str, template: str) -> Operation:
        try:
            return self.operations[(version, method.upper(), template)]
        except KeyError:
            raise KeyError(f"the Pipedrive {version} spec has no {method.upper()} {template}") from None


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(
            f"the Pipedrive sandbox reads token costs from the vendor's spec, but {path} is missing; "
            "the shared/ folder must sit beside the repository")
    with open(path, encoding="utf-8") as fh, paused_gc():  # half the parse time otherwise
        return yaml.load(fh, Loader=yaml.CSafeLoader)


class _Resolver:
    def __init__(self, document: dict[str, Any]):
        self.document = document

    def __call__(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def properties(self, schema: Any) -> dict[str, Any]:
        """A schema's properties, through ``$ref`` and ``allOf``."""
        schema = self(schema) or {}
        found = {name: self(prop) for name, prop in (schema.get("properties") or {}).items()}
        for part in schema.get("allOf") or []:
            found.update(self.properties(part))
        return found


def _enum(schema: dict[str, Any]) -> frozenset[str] | None:
    values = schema.get("enum")
    if not values:
        return None
    return frozenset(name.strip() for value in values for name in str(value).split(","))


def _operation(resolve: _Resolver, operation: dict[str, Any]) -> Operation:
    enums: dict[str, frozenset[str]] = {}
    for param in operation.get("parameters", []):
        param = resolve(param)
        allowed = _enum(resolve(param.get("schema") or {}))
        if param.get("in") == "query" and allowed:
            enums[param["name"]] = allowed
    body: dict[str, frozenset[str] | None] = {}
    required: frozenset[str] = frozenset()
    content = (resolve(operation.get("requestBody") or {}).get("content") or {})
    if "application/json" in content:
        schema = resolve(content["application/json"].get("schema")) or {}
        required = frozenset(schema.get("required") or ())
        for name, prop in resolve.properties(schema).items():
            body[name] = _enum(prop)
    return Operation(int(operation.get("x-token-cost", 0)), enums, body, required)


def derive_spec_facts() -> SpecFacts:
    """Read the facts from the vendor's documents (needs ``shared/specs``)."""
    operations: dict[tuple[str, str, str], Operation] = {}
    for version, path in SPEC_FILES.items():
        document = _read(path)
        resolve = _Resolver(document)
        for template, item in document["paths"].items():
            for method in _METHODS:
                if item.get(method):
                    operations[(version, method.upper(), template)] = _operation(resolve, item[method])
    return SpecFacts(operations)


def facts_to_json(facts: SpecFacts) -> str:
    rows = []
    for (version, method, template), op in sorted(facts.operations.items()):
        rows.append({
            "version": version, "method": method, "path": template, "cost": op.cost,
            "query_enums": {k: sorted(v) for k, v in sorted(op.query_enums.items())},
            "body_fields": {k: (sorted(v) if v is not None else None) for k, v in sorted(op.body_fields.items())},
            "body_required": sorted(op.body_required),
        })
    return json.dumps(rows, indent=0, sort_keys=True) + "\n"


def facts_from_json(text: str) -> SpecFacts:
    operations = {}
    for row in json.loads(text):
        operations[(row["version"], row["method"], row["path"])] = Operation(
            cost=row["cost"],
            query_enums={k: frozenset(v) for k, v in row["query_enums"].items()},
            body_fields={k: (frozenset(v) if v is not None else None) for k, v in row["body_fields"].items()},
            body_required=frozenset(row["body_required"]),
        )
    return SpecFacts(operations)


@functools.cache
def load_spec_facts() -> SpecFacts:
    """The committed facts (no vendor document needed at run time)."""
    return facts_from_json(FACTS_FILE.read_text(encoding="utf-8"))


if __name__ == "__main__":
    FACTS_FILE.write_text(facts_to_json(derive_spec_facts()), encoding="utf-8")
    print(f"wrote {FACTS_FILE} ({len(load_spec_facts.__wrapped__().operations)} operations)", file=sys.stderr)
