"""Webhook receivers (FastAPI apps served by the Airflow API server) and payload recognition.

``payloads`` is pure and cheap to import; ``receivers`` builds the apps (imports FastAPI) and is
imported only by the plugin and the tests.
"""

from __future__ import annotations

from pipedrive_brevo.webhooks.payloads import (
    BrevoEvent,
    PayloadError,
    PipedriveEvent,
    brevo_items,
    parse_brevo,
    parse_pipedrive,
)

__all__ = ["BrevoEvent", "PayloadError", "PipedriveEvent", "brevo_items", "parse_brevo", "parse_pipedrive"]
