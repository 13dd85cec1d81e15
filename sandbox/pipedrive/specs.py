"""Facts the sandbox reads from Pipedrive's own OpenAPI documents instead of hard-coding them.

Each operation in the vendor's specs carries ``x-token-cost``, what a call charges against the
company's daily budget; its query parameters list the values they accept (``sort_by``,
``include_fields``, a lead ``sort``); its request body names the fields a write may set. Reading
them from the documents keeps the sandbox honest when the specs are refreshed: a cost or an
allowed value Pipedrive changes is one the sandbox applies, with no table here to forget.

The documents live in ``shared/specs/pipedrive`` beside the repository (as in CI); parsing them
takes under a second and happens once per process.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sandbox.pipedrive.memory import paused_gc

SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "specs" / "pipedrive"
SPEC_FILES = {"v1": SPEC_DIR / "openapi-v1.yaml", "v2": SPEC_DIR / "openapi-v2.yaml"}

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


@functools.cache
def load_spec_facts() -> SpecFacts:
    operations: dict[tuple[str, str, str], Operation] = {}
    for version, path in SPEC_FILES.items():
        document = _read(path)
        resolve = _Resolver(document)
        for template, item in document["paths"].items():
            for method in _METHODS:
                if item.get(method):
                    operations[(version, method.upper(), template)] = _operation(resolve, item[method])
    return SpecFacts(operations)
