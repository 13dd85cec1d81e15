"""The project's Airflow plugin: the webhook receivers, served by the Airflow API server.

``POST /pipedrive/webhooks`` (basic auth: connection ``pipedrive_webhook``) and ``POST /brevo/webhooks``
(bearer token: the password of connection ``brevo_webhook``), contract §5. Airflow mounts plugin apps
without its own authentication; the receivers check their credentials themselves. Plugins are loaded
once: restart ``airflow api-server`` after changing this file or the receivers.

This file is the only module of ``plugins/`` the plugin loader imports (``.airflowignore`` keeps the
``pipedrive_brevo`` library out of it); it puts ``plugins/`` on ``sys.path`` so the library imports as
``pipedrive_brevo`` whatever the api-server's working directory is.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

_PLUGINS = str(Path(__file__).resolve().parent)
if _PLUGINS not in sys.path:
    sys.path.append(_PLUGINS)

from pipedrive_brevo.webhooks.receivers import create_brevo_app, create_pipedrive_app  # noqa: E402


class PipedriveBrevoPlugin(AirflowPlugin):
    """Registers the two webhook receivers with the API server."""

    name = "pipedrive_brevo"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": create_pipedrive_app(), "url_prefix": "/pipedrive", "name": "Pipedrive webhook receiver"},
        {"app": create_brevo_app(), "url_prefix": "/brevo", "name": "Brevo webhook receiver"},
    ]
