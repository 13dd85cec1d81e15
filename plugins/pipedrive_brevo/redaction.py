"""Keeping tokens and keys out of every message the product writes.

Two layers, because either alone leaves a gap: Airflow's secrets masker scrubs what reaches the
task log (but not an exception text kept in a variable, a summary file or a test's captured
output), and this module's :func:`redact` scrubs the messages the HTTP layer builds itself, even
when no Airflow logging is configured. Every secret the product learns (an API token, an API key,
an OAuth client secret, refresh or access token) goes through :func:`register_secret` the moment
it is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading

MASK = "***"
# Airflow's masker ignores values shorter than this (they would mask ordinary words); the
# layer's own redaction applies the same floor so that a short word is never blanked out.
MIN_SECRET_LENGTH = 5

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember ``value`` as a secret: masked in Airflow's logs and in :func:`redact`'s output."""
    global _pattern
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))
    _mask_in_airflow(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def fingerprint(secret: str) -> str:
    """A short, stable, non-reversible name for a secret (to key caches without holding it)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


def _mask_in_airflow(value: str) -> None:
    """Hand the secret to Airflow's masker when Airflow is importable; a no-op otherwise."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # the layer is usable (and tested) without Airflow
        return
    # Best effort: outside a task the masker may not be set up; redact() still protects our messages.
    with contextlib.suppress(Exception):
        mask_secret(value)
