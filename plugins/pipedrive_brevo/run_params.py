"""The ``pipedrive_to_brevo`` run parameters: their schema and what they select.

Kept out of the DAG file so the rules are tested without Airflow running a DAG; the DAG file
only lists them.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipedrive_brevo.config import SYNC_ENTITIES

ENTITIES = tuple(SYNC_ENTITIES)


class RunParamError(ValueError):
    """A run parameter the mapping does not allow."""


def select_entities(requested: Iterable[str] | None, enabled: Iterable[str]) -> list[str]:
    """The entities this run extracts: the requested ones, else every one the mapping enables.

    Asking for an entity the mapping disables is a mistake worth stopping for: the run would
    otherwise look successful while syncing nothing of it.
    """
    enabled = list(enabled)
    if not requested:
        return enabled
    requested = list(dict.fromkeys(requested))
    unknown = [e for e in requested if e not in ENTITIES]
    if unknown:
        raise RunParamError(f"entities {unknown} are unknown; valid: {', '.join(ENTITIES)}")
    disabled = [e for e in requested if e not in enabled]
    if disabled:
        raise RunParamError(f"entities {disabled} are disabled in the mapping (connectors.pipedrive.sync); "
                            f"enabled: {', '.join(enabled) or 'none'}")
    return [e for e in enabled if e in requested]
