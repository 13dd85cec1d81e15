"""Reading an Airflow connection into the base URL a hook talks to.

The contract: ``host`` holds the base URL with its scheme and may hold a port; ``port`` is
honoured too. Plain ``http://`` is accepted only for loopback hosts (the local sandboxes), so a
typo can never send a token in clear text over a network.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit


class ConnectionConfigError(ValueError):
    """The Airflow connection cannot be used as it is; the message names it and says why."""


def is_loopback(hostname: str | None) -> bool:
    """True for ``localhost`` and any address in 127.0.0.0/8 or ``::1``."""
    if not hostname:
        return False
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


def require_safe_url(url: str, conn_id: str, what: str = "host") -> str:
    """``url`` without a trailing slash, or an error if it is not https (http only on loopback)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectionConfigError(
            f"connection {conn_id!r}: {what} {url!r} is not an http(s) URL; "
            "write it with its scheme, e.g. https://api.example.com")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConnectionConfigError(
            f"connection {conn_id!r}: {what} {url!r} uses plain http; only https is allowed "
            "(http is accepted for loopback sandboxes only)")
    return url.rstrip("/")


def base_url_from_connection(host: str | None, port: int | None, schema: str | None, conn_id: str, *,
                             default_url: str, strip_suffixes: tuple[str, ...] = ()) -> str:
    """The API base URL a connection names: scheme, host, port, and any path prefix it holds.

    A host without a scheme takes ``schema`` when that is ``http``/``https`` (how Airflow's own
    HTTP connections spell it), else https. ``strip_suffixes`` removes an API version the user
    wrote into the host (``https://api.brevo.com/v3``) because the hook adds it to every path.
    """
    raw = (host or "").strip() or default_url
    if "://" not in raw:
        scheme = schema if schema in ("http", "https") else "https"
        raw = f"{scheme}://{raw}"
    parts = urlsplit(raw)
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{int(port)}"
    path = parts.path.rstrip("/")
    for suffix in strip_suffixes:
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return require_safe_url(urlunsplit((parts.scheme, netloc, path, "", "")), conn_id)
