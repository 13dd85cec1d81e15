"""Pipedrive's answers: the success envelope and the errors, byte for byte where the docs show them.

Every JSON error has the shape of DOCS:core-api-concepts-responses
(``{"success":false,"error":...,"error_info":...,"data":null,"additional_data":null}``), so a
client's error handling meets in tests what it meets in production. The one non-JSON answer is
the Cloudflare "Access denied" page an API token gets after it keeps sending past its 429s.
"""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.server import HTTPError, Response

ERROR_INFO = "Please check developers.pipedrive.com"


def ok(data: Any, additional_data: dict[str, Any] | None = None, **extra: Any) -> Response:
    """``{"success": true, "data": ..., "additional_data": ...}``; v1 webhooks add ``status``."""
    body: dict[str, Any] = {"success": True, "data": data}
    if additional_data is not None:
        body["additional_data"] = additional_data
    body.update(extra)
    return Response.json(body)


def error_body(message: str, *, error_info: str = ERROR_INFO, **extra: Any) -> dict[str, Any]:
    return {"success": False, "error": message, "error_info": error_info, "data": None,
            "additional_data": None, **extra}


def error(status: int, message: str, *, headers: dict[str, str] | None = None,
          error_info: str = ERROR_INFO, **extra: Any) -> Response:
    return Response.json(error_body(message, error_info=error_info, **extra), status=status, headers=headers)


def fail(status: int, message: str, **extra: Any) -> HTTPError:
    """An exception a handler raises to answer with a Pipedrive error (``raise fail(400, ...)``)."""
    return HTTPError(error(status, message, **extra))


def unauthorized(headers: dict[str, str] | None = None) -> Response:
    """SPEC-v1's 401 example, plus the common error fields."""
    return error(401, "unauthorized access", headers=headers, errorCode=401)


def entity_not_found() -> Response:
    """The v2 404 of DOCS:core-api-concepts-responses."""
    return error(404, "Entity was not found", error_info="Object was not found.")


def unknown_route() -> Response:
    return error(404, "Unknown method .")


def method_not_allowed() -> Response:
    return error(405, "Method not allowed")


def over_limit(headers: dict[str, str] | None = None) -> Response:
    return error(429, "Request over limit", headers=headers,
                 error_info="Please check developers.pipedrive.com/docs/api/v1/#/rate-limiting")


def server_error(status: int) -> Response:
    message = {502: "Bad gateway", 503: "Service temporarily unavailable"}.get(status, "Internal server error")
    return error(status, message)


def cloudflare_access_denied(host: str) -> Response:
    """The HTML page Cloudflare serves a blocked client (error 1020), not JSON."""
    ray = secrets.token_hex(8)
    page = f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<title>Access denied | {host} used Cloudflare to restrict access</title>
<meta charset="UTF-8" />
<meta name="robots" content="noindex, nofollow" />
</head>
<body>
<div id="cf-wrapper">
  <div id="cf-error-details">
    <h1><span class="cf-error-type">Error</span> <span class="cf-error-code">1020</span></h1>
    <h2 class="cf-subheadline">Access denied</h2>
    <p>This website is using a security service to protect itself from online attacks.</p>
    <p>The site owner may have set restrictions that prevent you from accessing the site.</p>
    <p>Cloudflare Ray ID: <strong>{ray}</strong> &bull; Performance &amp; security by Cloudflare</p>
  </div>
</div>
</body>
</html>
"""
    return Response.text(page, status=403, content_type="text/html; charset=UTF-8",
                         headers={"Server": "cloudflare", "CF-RAY": f"{ray}-AMS"})
