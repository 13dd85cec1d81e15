"""A local Pipedrive API that answers as the real one does in 2026 (v2 lists, v1 leads and
webhooks, OAuth, token-based rate limits), for the product's demo, tests and benchmarks.

>>> from sandbox.pipedrive import create_app, PipedriveConfig
>>> app = create_app(account, PipedriveConfig(plan="growth"))   # a sandbox.server.App
"""

from __future__ import annotations

from sandbox.pipedrive.app import PipedriveApp, create_app
from sandbox.pipedrive.config import PipedriveConfig

__all__ = ["PipedriveApp", "PipedriveConfig", "create_app"]
