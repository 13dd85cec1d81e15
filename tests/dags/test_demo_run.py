"""`make demo` runs end to end, prints the run summary and stops the servers it started."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_the_demo_prints_the_summary_and_stops_its_sandboxes(tmp_path):
    home = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "sandbox.demo", "--persons", "40", "--seed", "3", "--home", str(home)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "The DAG run succeeded" in out
    for line in ("  contacts ", "  plan           create ", "  sent to Brevo  created ", "What the sandboxes saw"):
        assert line in out, out
    assert "Pipeline report for " in out and "charts, CSV and Parquet: " in out
    day = out.split("Pipeline report for ", 1)[1][:10]
    manifest = json.loads((home / "data" / "reports" / day / "_manifest.json").read_text())
    assert manifest["rows"]["deals_attribution"] > 0 and (home / "data" / "reports" / day / "index.html").exists()
    summary = json.loads(next((home / "data" / "runs").glob("*/summary.json")).read_text())
    assert f"created {summary['load']['created']:,}," in out and summary["load"]["created"] > 0
    info = json.loads((home / "sandboxes.json").read_text())
    for api in ("pipedrive", "brevo"):
        with pytest.raises(requests.ConnectionError):
            requests.get(info[api]["url"] + "/__admin/counters", timeout=2)
