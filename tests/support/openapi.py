"""Validate what the sandboxes answer against the vendors' OpenAPI documents.

The vendors' specs are the referee for the sandboxes' response shapes: a contract test sends a
request to a sandbox and passes the answer to :meth:`OpenAPISpec.validate_response` with the
operation's path as the spec writes it. Schema ``$ref``s are resolved against the whole document,
so a response schema that points into ``components`` validates exactly as written by the vendor.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).resolve().parents[3] / "shared" / "specs"
PIPEDRIVE_V2 = SPECS / "pipedrive" / "openapi-v2.yaml"
PIPEDRIVE_V1 = SPECS / "pipedrive" / "openapi-v1.yaml"
BREVO = SPECS / "brevo" / "brevo-2026.yml"
BREVO_2025 = SPECS / "brevo" / "swagger_definition_v3.2025-02-28.yml"

_URI = "urn:spec"

# A schema whose own description says the value can be null, while its `type` forgets `nullable`
# (e.g. Pipedrive v2 `next_cursor`: "will be `null` if you have reached the end"). The vendors'
# prose describes what the servers really send, so such a schema is read as nullable. This is the
# only leniency applied to the documents; everything else validates exactly as written.
_SAYS_NULL = re.compile(r"\bnull\b", re.IGNORECASE)


def _honour_documented_nulls(node: Any) -> int:
    """Mark schemas nullable where their description says null is a value; returns how many."""
    count = 0
    if isinstance(node, dict):
        description = node.get("description")
        if ("type" in node and isinstance(description, str) and _SAYS_NULL.search(description)
                and not node.get("nullable")):
            node["nullable"] = True
            count += 1
        for value in node.values():
            count += _honour_documented_nulls(value)
    elif isinstance(node, list):
        for value in node:
            count += _honour_documented_nulls(value)
    return count


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class OpenAPISpec:
    """One loaded OpenAPI 3.0 document."""

    def __init__(self, path: Path, document: dict[str, Any]):
        self.path = path
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT4)
        self._registry = Registry().with_resource(_URI, resource)

    @classmethod
    def load(cls, path: str | Path) -> OpenAPISpec:
        """The document at ``path``; a test that needs a vendor document not beside the repo is skipped."""
        path = Path(path).resolve()
        if not path.is_file():
            import pytest

            pytest.skip(f"vendor spec {path} is not beside the repository (CI has it under ../shared/specs)")
        return _load(str(path))

    # ------------------------------------------------------------------ lookup
    def operation(self, method: str, path_template: str) -> dict[str, Any]:
        paths = self.document["paths"]
        if path_template not in paths:
            close = [p for p in paths if p.split("/")[1:2] == path_template.split("/")[1:2]]
            raise AssertionError(f"{self.path.name}: no path {path_template!r}; similar: {close[:10]}")
        op = paths[path_template].get(method.lower())
        if op is None:
            raise AssertionError(f"{self.path.name}: {path_template!r} has no {method.upper()} operation")
        return op

    def _response_pointer(self, method: str, path_template: str, status: int) -> tuple[str, dict[str, Any]]:
        op = self.operation(method, path_template)
        responses = op.get("responses", {})
        key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None)
        if key is None:
            raise AssertionError(
                f"{self.path.name}: {method.upper()} {path_template} declares no response {status}; "
                f"declared: {sorted(responses)}")
        response = responses[key]
        base = ["paths", path_template, method.lower(), "responses", key]
        if "$ref" in response:  # a shared response object
            ref = response["$ref"]
            response = self._resolve(ref)
            base = ref.lstrip("#/").split("/")
            base = [p.replace("~1", "/").replace("~0", "~") for p in base]
        return _pointer(*base), response

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.document
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def response_schema(self, method: str, path_template: str, status: int) -> dict[str, Any] | None:
        """The JSON schema (as a ``$ref`` into the document) of a response, or None without a body."""
        pointer, response = self._response_pointer(method, path_template, status)
        content = response.get("content") or {}
        media = next((m for m in content if "json" in m), None)
        if media is None or "schema" not in content[media]:
            return None
        return {"$ref": f"{_URI}#/{pointer}/content/{_pointer(media)}/schema"}

    # -------------------------------------------------------------- validation
    def validate_response(self, method: str, path_template: str, status: int, body: Any) -> None:
        """Raise AssertionError listing every way ``body`` departs from the spec's response schema."""
        schema = self.response_schema(method, path_template, status)
        if schema is None:
            if body not in (None, b"", ""):
                raise AssertionError(f"{method.upper()} {path_template} {status}: the spec declares no body")
            return
        validator = OAS30Validator(schema, registry=self._registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"- at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors[:25]]
            more = f"\n(+{len(errors) - 25} more)" if len(errors) > 25 else ""
            raise AssertionError(
                f"{self.path.name}: {method.upper()} {path_template} {status} does not match the spec:\n"
                + "\n".join(lines) + more)


def _status_keys_as_text(document: dict[str, Any]) -> None:
    """YAML reads an unquoted status key as an int (the 2025 Brevo document has them); make them text."""
    for item in document.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict) and isinstance(op.get("responses"), dict):
                op["responses"] = {str(k): v for k, v in op["responses"].items()}


@functools.cache
def _load(path: str) -> OpenAPISpec:
    with open(path, encoding="utf-8") as fh:
        document = yaml.load(fh, Loader=yaml.CSafeLoader)
    _honour_documented_nulls(document)
    _status_keys_as_text(document)
    return OpenAPISpec(Path(path), document)
