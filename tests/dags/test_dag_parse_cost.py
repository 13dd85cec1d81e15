"""Parsing the DAG files stays light: the dag-processor re-runs them every 30 seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Hundreds of milliseconds each. (phonenumbers, about 14 ms, is allowed: the mapping loader uses it to
# refuse an unknown default_phone_region when the DAG is parsed, before any run starts.)
HEAVY = ("pandas", "pyarrow", "numpy", "requests", "pipedrive_brevo.http", "pipedrive_brevo.transform.contacts")

PROBE = """
import json, sys, time
import airflow.sdk  # what every DAG file pays anyway
before = set(sys.modules)
started = time.perf_counter()
import runpy
runpy.run_path(sys.argv[1])
took = time.perf_counter() - started
print(json.dumps({"seconds": took, "loaded": sorted(set(sys.modules) - before)}))
"""


@pytest.mark.parametrize("dag_file", sorted(p.name for p in (REPO / "dags").glob("*.py")))
def test_a_dag_file_imports_nothing_heavy(dag_file, capsys):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "plugins"), str(REPO)])}
    out = subprocess.run([sys.executable, "-c", PROBE, str(REPO / "dags" / dag_file)], env=env, cwd=REPO,
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    heavy = [m for m in result["loaded"] if m.split(".")[0] in HEAVY or m in HEAVY]
    assert heavy == [], f"{dag_file} imports {heavy} at parse time; import them inside tasks"
    with capsys.disabled():
        print(f"\n{dag_file}: parsed in {result['seconds'] * 1000:.0f} ms beyond airflow.sdk")
