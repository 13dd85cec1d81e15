"""What a Brevo sandbox account starts with and how it is limited.

The defaults describe a fresh account on Brevo's *General* rate-limit tier (every plan has it),
so code tested against the sandbox paces itself as it must in production. Everything here can be
changed per test, and the limits and the import delay also at run time through
``POST /__admin/brevo/config``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_KEY = "xkeysib-sandbox-key"


@dataclass(frozen=True)
class Window:
    """At most ``limit`` requests per ``seconds``; a fixed window that starts at its first request."""

    limit: int
    seconds: float

    @classmethod
    def parse(cls, value: Any) -> Window:
        """Accept ``{"limit": 10, "seconds": 1}`` or ``[10, 1]`` (admin JSON)."""
        if isinstance(value, Window):
            return value
        if isinstance(value, dict):
            limit, seconds = value["limit"], value["seconds"]
        else:
            limit, seconds = value
        if int(limit) < 0 or float(seconds) <= 0:
            raise ValueError(f"a window needs limit >= 0 and seconds > 0, not {value!r}")
        return cls(int(limit), float(seconds))


# Brevo's published General tier (research/brevo-api.md §7). `/v3/events/batch` is not in Brevo's
# table; the sandbox counts it in the events bucket (see limits.bucket_of).
CONTACTS_BUCKET = "contacts"
EVENTS_BUCKET = "events"
OTHER_BUCKET = "other"


def general_tier() -> dict[str, tuple[Window, ...]]:
    return {
        CONTACTS_BUCKET: (Window(10, 1), Window(36_000, 3600)),
        EVENTS_BUCKET: (Window(10, 1), Window(36_000, 3600)),
        OTHER_BUCKET: (Window(100, 3600),),
    }


@dataclass(frozen=True)
class AttributeSpec:
    """A contact attribute as ``GET /contacts/attributes`` lists it.

    ``enumeration`` holds ``(value, label)`` pairs of a category attribute; ``options`` the
    choices of a multiple-choice attribute; ``formula`` the expression of a calculated or global one.
    """

    name: str
    category: str  # normal | transactional | category | calculated | global
    type: str | None  # text | date | float | boolean | id | category | multiple-choice | user
    enumeration: tuple[tuple[int, str], ...] = ()
    options: tuple[str, ...] = ()
    formula: str | None = None


def fresh_account_attributes() -> list[AttributeSpec]:
    """The contact attributes a new Brevo account has before anyone adds one.

    Brevo does not publish this list; it is what a new account shows in its settings (inferred,
    research/brevo-api.md §1 names EMAIL, SMS, EXT_ID, WHATSAPP and LANDLINE_NUMBER as the
    identifiers). EMAIL is not an attribute: it is the contact's ``email`` field.
    """
    text = ("FIRSTNAME", "LASTNAME", "SMS", "EXT_ID", "WHATSAPP", "LANDLINE_NUMBER", "JOB_TITLE", "LINKEDIN")
    attrs = [AttributeSpec(name, "normal", "text") for name in text]
    attrs.append(AttributeSpec("OPT_IN", "normal", "boolean"))
    attrs.append(AttributeSpec("DOUBLE_OPT-IN", "category", "category", enumeration=((1, "Yes"), (2, "No"))))
    return attrs


@dataclass
class BrevoConfig:
    """How one sandbox account is set up.

    ``rate_limits`` maps a bucket (``contacts``, ``events``, ``other``) to its windows; a request
    must fit in every window of its bucket. ``import_delay_s`` is how long an import process
    stays ``queued`` then ``in_process`` (half each) before it completes, so clients must poll.
    ``process_running_status`` is the status Brevo reports while an import runs: the live API
    still answers the legacy ``in_process`` (research §2), while the 2026 spec names it ``processing``.
    """

    api_keys: list[str] = field(default_factory=lambda: [DEFAULT_API_KEY])
    #: The name each key was given in Brevo; marketing webhooks carry it as ``api_key_name``. The
    #: default key is named as the product expects its own key to be (options.reverse.api_key_name).
    api_key_names: dict[str, str] = field(default_factory=lambda: {DEFAULT_API_KEY: "pipedrive-brevo-sync"})
    rate_limits: dict[str, tuple[Window, ...]] = field(default_factory=general_tier)
    limits_enabled: bool = True
    import_delay_s: float = 0.5
    process_running_status: str = "in_process"
    attributes: list[AttributeSpec] = field(default_factory=fresh_account_attributes)
    folders: dict[int, str] = field(default_factory=lambda: {1: "Your first folder"})
    max_import_bytes: int = 10 * 1024 * 1024  # "Maximum allowed json body size is 10MB"
    #: Waits before each webhook retry: Brevo's +10 min, +1 h, +2 h, +8 h (tests pass tiny ones).
    webhook_retry_delays_s: tuple[float, ...] = (600.0, 3600.0, 7200.0, 28800.0)

    def set_limits(self, values: dict[str, Any]) -> None:
        """Replace the windows of the named buckets (admin JSON: ``{"contacts": [[5, 1]]}``)."""
        for bucket, windows in values.items():
            if bucket not in (CONTACTS_BUCKET, EVENTS_BUCKET, OTHER_BUCKET):
                raise ValueError(f"unknown rate-limit bucket {bucket!r}; valid: contacts, events, other")
            self.rate_limits[bucket] = tuple(Window.parse(w) for w in windows)
