"""Keeping Python's cyclic garbage collector out of the way of bulk builds.

A 100k-person account is millions of dicts, lists and strings. Building an index over it (a
million ``(key, id)`` tuples) or parsing the vendor's specs creates objects so fast that the
collector runs again and again, each time walking everything alive: it doubles the build time.
Nothing built there forms a reference cycle, so the collector can sit those builds out.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic collector for a bulk build that creates no cycles (reference counting
    still frees everything that becomes garbage)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
