"""The benchmarks (``make bench`` / ``python -m bench``).

Importing any ``bench.bench_*`` module runs this first: the library on ``sys.path`` (as Airflow
puts ``plugins/`` there) and a throw-away Airflow home, so a benchmark never touches a real one.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "plugins") not in sys.path:
    sys.path.insert(0, str(REPO / "plugins"))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
