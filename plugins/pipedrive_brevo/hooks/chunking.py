"""Splitting payloads to the vendors' per-call limits, by count and by bytes of JSON.

Brevo refuses a whole call over its limits (an import over 10 MB, an events batch over 200 events
or 512 KB, a list change over 150 contacts), so every bulk call is cut to size *before* sending.
Sizes are measured on the exact bytes the HTTP layer sends (:func:`~pipedrive_brevo.http.encode_json`),
so a chunk measured here is the chunk that arrives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from pipedrive_brevo.http import encode_json

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` items."""
    if size < 1:
        raise ValueError("chunk size must be >= 1")
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def envelope_bytes(envelope: dict[str, Any], key: str) -> int:
    """Bytes ``envelope`` takes with an empty list under ``key`` (the part every chunk repeats)."""
    return len(encode_json({**envelope, key: []}))


def chunk_by_json_size(items: Iterable[Any], *, max_bytes: int, max_items: int | None = None,
                       overhead_bytes: int = 2) -> Iterator[list[Any]]:
    """Consecutive runs of ``items`` whose JSON array, plus ``overhead_bytes``, fits ``max_bytes``.

    ``overhead_bytes`` is the envelope around the array (see :func:`envelope_bytes`), which already
    counts the array's brackets. An item too big to fit even alone is yielded alone: the vendor's
    answer to it is the caller's to report, and it must not hold back the items around it.
    """
    chunk: list[Any] = []
    size = overhead_bytes
    for item in items:
        item_bytes = len(encode_json(item))
        separator = 1 if chunk else 0
        if chunk and (size + separator + item_bytes > max_bytes or (max_items and len(chunk) >= max_items)):
            yield chunk
            chunk, size, separator = [], overhead_bytes, 0
        chunk.append(item)
        size += separator + item_bytes
    if chunk:
        yield chunk
