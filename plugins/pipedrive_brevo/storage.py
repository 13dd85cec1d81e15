"""The data location: every file a run reads or leaves behind, and nothing else.

Tasks share nothing but this place (``PIPEDRIVE_BREVO_DATA``: a folder, ``file:///...`` or an
object-storage URL such as ``s3://bucket/prefix``; default ``$AIRFLOW_HOME/data``), so the DAGs run
the same on one machine or on Celery/Kubernetes workers. Writes are atomic (write to a temporary
name, then move) so a task killed mid-write never leaves a half file a retry would trust.

Layout (contract §6)::

    raw/<entity>/<run_id>/page-00001.parquet   pages as extracted, one record per row
    snapshots/<entity>.parquet                 latest state of every record, by id
    state/...                                  watermarks and what Brevo was last sent
    runs/<run_key>/summary.json, plan.parquet  what a run did (run_key: see :func:`run_key`)
    rejects/<run_key>.parquet                  every record or field not sent, with its reason
    reports/<date>/                            pipeline report exports
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fsspec

if TYPE_CHECKING:
    import pandas as pd

ENV_VAR = "PIPEDRIVE_BREVO_DATA"


def default_root() -> str:
    """The configured data location: the environment variable, else ``$AIRFLOW_HOME/data``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return configured
    airflow_home = os.environ.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    return str(Path(airflow_home) / "data")


def safe(name: str) -> str:
    """A run id or task id as one path segment, unchanged when it is a valid Airflow run id.

    The contract names a run's files ``runs/<run_id>/...``: Airflow's run ids (``[A-Za-z0-9_.~:+-]``,
    e.g. ``manual__2026-11-24T07:38:36+00:00``) are valid path segments locally and in object
    storage, so they are kept as they are; anything else (a ``/``, a space) becomes ``_``.
    """
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.~:+") else "_" for c in name)


# The DAGs whose runs are named by their run id alone (contract §6: ``runs/<run_id>/``). Their run ids
# never meet: the sync's are hourly ``scheduled__``/``manual__`` ids, the webhook DAG's are the
# receiver's ``webhook__<time>`` ids.
RUN_ID_DAGS: frozenset[str] = frozenset({"pipedrive_to_brevo", "pipedrive_webhook_events"})


def run_key(dag_id: str, run_id: str) -> str:
    """The name of a run's files: ``runs/<run_key>/``, ``rejects/<run_key>.parquet``, ``tasks/``.

    Airflow names scheduled runs after their logical date only (``scheduled__2026-11-24T10:00:00+00:00``),
    so the hourly ``brevo_to_pipedrive`` run has the same run id as the hourly sync's, and the daily
    report's the same as the sync's midnight run: their files would mix. The sync DAGs keep the
    contract's ``runs/<run_id>/``; every other DAG's run is ``<dag_id>.<run_id>``.
    """
    return run_id if dag_id in RUN_ID_DAGS else f"{dag_id}.{run_id}"


class DataLocation:
    """Read and write files under one root, locally or in object storage, through fsspec."""

    def __init__(self, root: str | None = None):
        self.root_url = root or default_root()
        self.fs, root_path = fsspec.core.url_to_fs(self.root_url)
        self.root = root_path.rstrip("/")

    def __repr__(self) -> str:
        return f"DataLocation({self.root_url!r})"

    def path(self, relpath: str) -> str:
        relpath = relpath.strip("/")
        if ".." in relpath.split("/"):
            raise ValueError(f"path {relpath!r} leaves the data location")
        return f"{self.root}/{relpath}"

    # ------------------------------------------------------------------ bytes
    def write_bytes(self, relpath: str, data: bytes) -> str:
        """Write atomically: a reader sees the old file or the new one, never a part."""
        target = self.path(relpath)
        parent = target.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        with self.fs.open(tmp, "wb") as fh:
            fh.write(data)
        self.fs.mv(tmp, target)
        return target

    def read_bytes(self, relpath: str) -> bytes:
        with self.fs.open(self.path(relpath), "rb") as fh:
            return fh.read()

    def exists(self, relpath: str) -> bool:
        return self.fs.exists(self.path(relpath))

    def list(self, prefix: str, suffix: str = "") -> list[str]:
        """Relative paths of the files under ``prefix`` (sorted), temporary files excluded."""
        base = self.path(prefix)
        if not self.fs.exists(base):
            return []
        found = []
        for full in self.fs.find(base):
            name = full.rsplit("/", 1)[-1]
            if name.startswith(".tmp-") or not name.endswith(suffix):
                continue
            found.append(full[len(self.root) + 1:])
        return sorted(found)

    def delete(self, relpath: str) -> None:
        target = self.path(relpath)
        if self.fs.exists(target):
            self.fs.rm(target, recursive=True)

    # ------------------------------------------------------------------- json
    def write_json(self, relpath: str, obj: Any) -> str:
        return self.write_bytes(relpath, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())

    def read_json(self, relpath: str, default: Any = None) -> Any:
        if not self.exists(relpath):
            return default
        return json.loads(self.read_bytes(relpath))

    # ---------------------------------------------------------------- parquet
    def write_parquet(self, relpath: str, frame: pd.DataFrame) -> str:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return self.write_bytes(relpath, buffer.getvalue())

    def read_parquet(self, relpath: str, columns: list[str] | None = None) -> pd.DataFrame:
        import pandas as pd

        with self.fs.open(self.path(relpath), "rb") as fh:
            return pd.read_parquet(fh, columns=columns)

    def iter_parquet(self, prefix: str) -> Iterator[pd.DataFrame]:
        """Each Parquet file under ``prefix`` in name order, one frame at a time (bounded memory)."""
        for relpath in self.list(prefix, suffix=".parquet"):
            yield self.read_parquet(relpath)
