"""A local Brevo API v3 for the demo, the tests and the benchmarks.

    from sandbox.brevo import BrevoConfig, create_app
    app = create_app(BrevoConfig(import_delay_s=0.1))   # a sandbox.server.App

It answers as Brevo's OpenAPI documents and documented behaviour say (shared/research/brevo-api.md):
contacts, attributes, lists and folders, asynchronous imports with their CSV reports, events,
CRM companies, Brevo's error bodies, and per-bucket rate limits with the ``x-sib-ratelimit-*``
headers. Admin endpoints under ``/__admin/brevo/`` dump and seed the account (see routes/admin.py).
"""

from sandbox.brevo.app import create_app
from sandbox.brevo.config import AttributeSpec, BrevoConfig, Window

__all__ = ["AttributeSpec", "BrevoConfig", "Window", "create_app"]
