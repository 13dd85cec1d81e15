"""Publishing ``reports/<date>/``: the tables as CSV and/or Parquet, the charts and ``index.html``.

**Atomic rewrite.** A reader must never see a mix of two runs of one date. Every file of a run is
first written in full into a version folder of its own, ``reports/.versions/<date>/<version>/``
(each file through :meth:`DataLocation.write_bytes`, itself atomic); then the date is switched to
it in one step:

- **local folder** (``file://`` or a path): ``reports/<date>`` is a symbolic link to the version
  folder, replaced with ``rename(2)``, which is atomic on POSIX: a reader opens the old version or
  the new one. The previous version is kept (a reader may still be inside it); older ones are
  deleted. A ``reports/<date>`` left as a plain folder by hand is first moved aside.
- **object storage** (``s3://`` ...): there is no atomic switch of many objects. The best
  available is done: the files are copied over ``reports/<date>/`` one object at a time (each put
  is atomic), files of the old version that the new one lacks are deleted, and
  ``reports/<date>/_manifest.json`` is written **last**, naming the version and its files. A
  reader that must not mix versions reads the manifest first and then the version folder it names
  (``reports/.versions/<date>/<version>/``), which never changes once written.

Both ways ``_manifest.json`` lists the files with their sizes and the rows of every table.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from pipedrive_brevo.reporting import TABLES
from pipedrive_brevo.reporting.index_page import render_index
from pipedrive_brevo.storage import DataLocation

REPORTS = "reports"
VERSIONS = f"{REPORTS}/.versions"
MANIFEST = "_manifest.json"


def table_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """One table as a file: CSV (UTF-8, header, ISO 8601 times, empty for null) or Parquet."""
    if fmt == "csv":
        return frame.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ").encode("utf-8")
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    raise ValueError(f"unknown report format {fmt!r}; valid: csv, parquet")


def report_files(report_date: str, tables: Mapping[str, pd.DataFrame], charts: Mapping[str, bytes], *,
                 formats: Iterable[str], base_currency: str = "") -> dict[str, bytes]:
    """Every file of one date's report, by name: tables per format, charts, ``index.html``."""
    files: dict[str, bytes] = {}
    for name in [t for t in TABLES if t in tables] + [t for t in tables if t not in TABLES]:
        for fmt in formats:
            files[f"{name}.{fmt}"] = table_bytes(tables[name], fmt)
    files.update(charts)
    rows = {name: len(frame) for name, frame in tables.items()}
    page = render_index(report_date, [n for n in files if not n.endswith(".png")], list(charts), rows,
                        base_currency=base_currency)
    files["index.html"] = page.encode("utf-8")
    return files


def _is_local(store: DataLocation) -> bool:
    protocol = store.fs.protocol
    protocols = (protocol,) if isinstance(protocol, str) else tuple(protocol)
    return bool({"file", "local"} & set(protocols))


def publish(store: DataLocation, report_date: str, files: Mapping[str, bytes], *,
            rows: Mapping[str, int] | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Write ``files`` as the report of ``report_date``, replacing any earlier one atomically.

    Returns the manifest (``report_date``, ``version``, ``files`` with sizes, ``rows``).
    """
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
    manifest = {"report_date": report_date, "version": version, "run_id": run_id,
                "files": {name: len(data) for name, data in sorted(files.items())}, "rows": dict(rows or {})}
    folder = f"{VERSIONS}/{report_date}/{version}"
    for name, data in files.items():
        store.write_bytes(f"{folder}/{name}", data)
    store.write_json(f"{folder}/{MANIFEST}", manifest)
    if _is_local(store):
        _switch_link(store, report_date, version)
    else:
        _copy_over(store, report_date, folder, files, manifest)
    return manifest


def _switch_link(store: DataLocation, report_date: str, version: str) -> None:
    target = store.path(f"{REPORTS}/{report_date}")
    previous = None
    if os.path.islink(target):
        previous = os.path.basename(os.readlink(target).rstrip("/"))
    elif os.path.exists(target):  # a plain folder (an older layout, or copied by hand): moved aside
        aside = f"manual-{version}"
        os.replace(target, store.path(f"{VERSIONS}/{report_date}/{aside}"))
        previous = aside
    link = store.path(f"{REPORTS}/.{report_date}.{version}.link")
    os.symlink(f".versions/{report_date}/{version}", link)
    os.replace(link, target)
    keep = {version, previous}
    for old in store.fs.ls(store.path(f"{VERSIONS}/{report_date}"), detail=False):
        if os.path.basename(old.rstrip("/")) not in keep:
            store.fs.rm(old, recursive=True)


def _copy_over(store: DataLocation, report_date: str, folder: str, files: Mapping[str, bytes],
               manifest: Mapping[str, Any]) -> None:
    dated = f"{REPORTS}/{report_date}"
    for name, data in files.items():
        store.write_bytes(f"{dated}/{name}", data)
    for stale in store.list(dated):
        if stale.rsplit("/", 1)[-1] not in files and not stale.endswith(MANIFEST):
            store.delete(stale)
    store.write_json(f"{dated}/{MANIFEST}", {**manifest, "version_folder": folder})
    versions = f"{VERSIONS}/{report_date}"
    kept = sorted({p.split("/")[3] for p in store.list(versions)})[-2:]
    for old in {p.split("/")[3] for p in store.list(versions)} - set(kept):
        store.delete(f"{versions}/{old}")


def write_exports(store: DataLocation, report_date: str, tables: Mapping[str, pd.DataFrame], *,
                  formats: Iterable[str], charts: Mapping[str, bytes], base_currency: str = "",
                  run_id: str | None = None) -> dict[str, Any]:
    """Render and publish one date's report (see the module docstring); returns the manifest."""
    files = report_files(report_date, tables, charts, formats=tuple(formats), base_currency=base_currency)
    return publish(store, report_date, files, rows={n: len(f) for n, f in tables.items()}, run_id=run_id)
