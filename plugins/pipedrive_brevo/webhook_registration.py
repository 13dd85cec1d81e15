"""Making Pipedrive's webhooks match the mapping's ``webhooks`` section (the setup DAG's one task).

The mapping says which Pipedrive changes matter (``event_action`` / ``event_object``, v1 or v2
action names, ``*`` allowed). The webhooks that deliver them to the receiver are derived from it:
v2 actions (``added`` → ``create``, ``updated`` → ``change``, ``deleted`` → ``delete``; v1's
``merged`` is a ``change`` of the winner and a ``delete`` of the loser in v2, so both), each pair
once, a pair covered by a ``*`` rule dropped, all ``version: "2.0"`` with the basic-auth user and
password of the connection ``pipedrive_webhook`` (the receiver checks them).

"Ours" are the webhooks whose ``subscription_url`` is the receiver URL: those matching a wanted
pair (and version 2.0) are left alone, the others deleted, missing pairs created. Webhooks with
another URL belong to someone else and are never touched, but count toward Pipedrive's limit of
40 webhooks per user: a plan that would pass it fails *before any write*, naming the numbers.
Pipedrive never shows a webhook's password, so a changed password is applied by deleting our
webhooks first (``replace=True``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pipedrive_brevo.config import WebhookRule
from pipedrive_brevo.hooks.connection import ConnectionConfigError, base_url_from_connection

log = logging.getLogger(__name__)

MAX_WEBHOOKS_PER_USER = 40
RECEIVER_PATH = "/pipedrive/webhooks"
WEBHOOK_CONN_ID = "pipedrive_webhook"
NAME_PREFIX = "pipedrive_brevo"
_TO_V2 = {"added": ("create",), "updated": ("change",), "deleted": ("delete",), "merged": ("change", "delete"),
          "create": ("create",), "change": ("change",), "delete": ("delete",), "*": ("*",)}


class WebhookLimitError(RuntimeError):
    """The webhooks wanted would pass Pipedrive's limit per user; nothing was changed."""


@dataclass(frozen=True)
class RegistrationPlan:
    """What :func:`plan_registration` decided; ``create`` holds (event_action, event_object) pairs."""

    keep: tuple[dict[str, Any], ...]
    create: tuple[tuple[str, str], ...]
    delete: tuple[dict[str, Any], ...]
    total_after: int  # the user's webhooks after the change
    counts: dict[str, int] = field(default_factory=dict)


def wanted_pairs(rules: Iterable[WebhookRule]) -> list[tuple[str, str]]:
    """The (v2 action, object) pairs the rules need, each once, those a ``*`` covers left out."""
    pairs = {(action, rule.event_object) for rule in rules for action in _TO_V2[rule.event_action]}

    def covered(action: str, obj: str) -> bool:
        wider = {("*", obj), (action, "*"), ("*", "*")} - {(action, obj)}
        return bool(wider & pairs)

    return sorted(p for p in pairs if not covered(*p))


def receiver_url(host: str | None, port: int | None = None, schema: str | None = None,
                 conn_id: str = WEBHOOK_CONN_ID) -> str:
    """The public URL of the receiver: https (http only on loopback), ending in ``/pipedrive/webhooks``."""
    if not (host or "").strip():
        raise ConnectionConfigError(f"connection {conn_id!r} has no host: put the public URL of the Airflow "
                                    f"API server there (e.g. https://airflow.example.com), or pass receiver_url")
    base = base_url_from_connection(host, port, schema, conn_id, default_url="", strip_suffixes=(RECEIVER_PATH,))
    return base + RECEIVER_PATH


def check_receiver_url(url: str) -> str:
    """``url`` if it is https (or http on loopback) with a host; else a clear error."""
    from pipedrive_brevo.hooks.connection import require_safe_url

    return require_safe_url(url, WEBHOOK_CONN_ID, what="receiver_url")


def plan_registration(existing: Sequence[dict[str, Any]], wanted: Sequence[tuple[str, str]], url: str, *,
                      user_id: int | None, http_auth_user: str | None,
                      limit: int = MAX_WEBHOOKS_PER_USER, replace: bool = False) -> RegistrationPlan:
    """Compare the account's webhooks with the wanted pairs for ``url``; raise if the limit would pass."""
    ours = [w for w in existing if w.get("subscription_url") == url]
    keep: list[dict[str, Any]] = []
    delete: list[dict[str, Any]] = []
    have: set[tuple[str, str]] = set()
    for hook in ours:
        pair = (str(hook.get("event_action")), str(hook.get("event_object")))
        matches = (not replace and pair in wanted and pair not in have and str(hook.get("version")) == "2.0"
                   and (http_auth_user is None or hook.get("http_auth_user") in (None, http_auth_user)))
        (keep if matches else delete).append(hook)
        if matches:
            have.add(pair)
    create = tuple(p for p in wanted if p not in have)
    mine = [w for w in existing if user_id is None or w.get("user_id") in (None, user_id)]
    total_after = len(mine) - sum(1 for w in delete if w in mine) + len(create)
    if total_after > limit:
        others = len([w for w in mine if w.get("subscription_url") != url])
        raise WebhookLimitError(
            f"the mapping's webhooks section needs {len(wanted)} Pipedrive webhooks at {url}, and the user "
            f"already has {others} other webhook(s): {total_after} in all, over Pipedrive's limit of {limit} "
            f"per user. Nothing was changed. Use '*' rules in the mapping's webhooks section (e.g. "
            f"event_action: '*') or delete unused webhooks in Pipedrive.")
    return RegistrationPlan(tuple(keep), create, tuple(delete), total_after,
                            {"kept": len(keep), "created": len(create), "deleted": len(delete),
                             "total_after": total_after})


def register_webhooks(hook: Any, rules: Iterable[WebhookRule], url: str, *, http_auth_user: str | None,
                      http_auth_password: str | None, replace: bool = False) -> dict[str, int]:
    """Make the account's webhooks for ``url`` match ``rules`` (see the module docstring); the counts.

    Deletes run before creates, so a full account makes room first. The password goes only into
    the create calls' bodies (and is registered as a secret, so no log line shows it).
    """
    url = check_receiver_url(url)
    if urlsplit(url).path.rstrip("/") == "":
        raise ValueError(f"receiver_url {url!r} has no path; the receiver listens on {RECEIVER_PATH}")
    me = hook.get_current_user()
    plan = plan_registration(hook.list_webhooks(), wanted_pairs(rules), url, user_id=me.get("id"),
                             http_auth_user=http_auth_user, replace=replace)
    for webhook in plan.delete:
        hook.delete_webhook(int(webhook["id"]))
        log.info("Deleted webhook %s (%s.%s)", webhook["id"], webhook.get("event_action"), webhook.get("event_object"))
    for action, obj in plan.create:
        created = hook.create_webhook(url, action, obj, f"{NAME_PREFIX} {action}.{obj}", http_auth_user=http_auth_user,
                                      http_auth_password=http_auth_password, version="2.0")
        log.info("Created webhook %s (%s.%s)", created.get("id"), action, obj)
    return plan.counts
