"""`make demo`: the sync end to end against the local sandboxes, through the real Airflow CLI.

1. starts the Pipedrive and Brevo sandboxes (``python -m sandbox serve``) with a generated account;
2. prepares a throw-away ``AIRFLOW_HOME`` in ``.demo/`` (SQLite; replaced on every run, kept
   afterwards so its data location and logs can be inspected) and seeds the Brevo account with
   the lists the mapping file names, as a real account would already have them;
3. runs ``airflow dags test pipedrive_to_brevo`` with the two connections pointed at the sandboxes;
4. prints a readable summary of the run (``runs/<run_id>/summary.json``) and of the traffic each
   sandbox saw;
5. runs ``airflow dags test pipedrive_pipeline_report`` for today on what the sync kept and prints
   where the report is and which lead sources brought the won revenue; then stops everything it started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
DAG_ID = "pipedrive_to_brevo"
REPORT_DAG_ID = "pipedrive_pipeline_report"


def airflow_env(home: Path, info: dict[str, Any]) -> dict[str, str]:
    """The environment of every Airflow command the demo runs."""
    pipedrive, brevo = info["pipedrive"], info["brevo"]
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PIPEDRIVE_BREVO_DATA": str(home / "data"),
        "AIRFLOW_CONN_PIPEDRIVE_DEFAULT": json.dumps(
            {"conn_type": "http", "host": pipedrive["url"], "password": pipedrive["api_token"]}),
        "AIRFLOW_CONN_BREVO_DEFAULT": json.dumps(
            {"conn_type": "http", "host": brevo["url"], "password": brevo["api_key"]}),
    })
    return env


def start_sandboxes(home: Path, persons: int, seed: int) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    ready = home / "sandboxes.json"
    log = open(home / "sandboxes.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--persons", str(persons), "--seed", str(seed),
         "--ready-file", str(ready)],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit(f"the sandboxes did not start; see {home / 'sandboxes.log'}:\n"
                             + (home / "sandboxes.log").read_text()[-3000:])
        if time.monotonic() > deadline:
            stop(proc)
            raise SystemExit("the sandboxes did not answer within 300 s")
        time.sleep(0.2)
    return proc, json.loads(ready.read_text())


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def seed_brevo_lists(brevo_url: str) -> list[int]:
    """Create, in the Brevo sandbox, every list the mapping names (ids are Brevo's, so they pre-exist)."""
    sys.path.insert(0, str(REPO / "plugins"))
    from pipedrive_brevo.config import load_mapping

    mapping = load_mapping()
    list_ids = sorted(mapping.list_ids())
    for list_id in list_ids:
        r = requests.post(f"{brevo_url}/__admin/brevo/lists",
                          json={"id": list_id, "name": f"Pipedrive list {list_id}", "folderId": 1}, timeout=10)
        r.raise_for_status()
    return list_ids


def run(cmd: list[str], env: dict[str, str], log: Path) -> int:
    with open(log, "ab") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n".encode())
        fh.flush()
        return subprocess.run(cmd, env=env, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT).returncode


def latest_summary(data: Path) -> tuple[str, dict[str, Any]] | None:
    runs = sorted((data / "runs").glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    if not runs:
        return None
    return runs[-1].parent.name, json.loads(runs[-1].read_text())


def print_summary(summary: dict[str, Any], info: dict[str, Any]) -> None:
    sys.path.insert(0, str(REPO / "plugins"))
    from pipedrive_brevo.run_summary import format_summary

    print("\n" + format_summary(summary))
    pd_usage = requests.get(info["pipedrive"]["url"] + "/__admin/pipedrive/usage", timeout=10).json()
    brevo_usage = requests.get(info["brevo"]["url"] + "/__admin/brevo/usage", timeout=10).json()
    print("\nWhat the sandboxes saw")
    print(f"  Pipedrive: {sum(t['requests'] for t in pd_usage['tokens'].values())} requests, "
          f"{pd_usage['tokens_spent']:,} of {pd_usage['daily_budget']:,} daily tokens, "
          f"{sum(t['responses_429'] for t in pd_usage['tokens'].values())} answered 429 ({pd_usage['plan']} plan)")
    print(f"  Brevo:     {brevo_usage['total']['calls']} calls, {brevo_usage['total']['429']} answered 429")


def print_report(data: Path, day: str) -> None:
    """Where today's report is, and the lead sources that brought the won revenue (from its CSV)."""
    import pandas as pd

    folder = data / "reports" / day
    manifest = json.loads((folder / "_manifest.json").read_text())
    rows = ", ".join(f"{name} {count:,}" for name, count in sorted(manifest["rows"].items()))
    print(f"\nPipeline report for {day}: {rows} rows")
    revenue = pd.read_csv(folder / "revenue_by_source.csv")
    if len(revenue):
        base = revenue["base_currency"].iloc[0]
        top = revenue.groupby("lead_source")[["won_deals", "won_value_base"]].sum().nlargest(3, "won_value_base")
        for source, row in top.iterrows():
            print(f"  {source:<24} {int(row.won_deals):>4} won deals  {row.won_value_base:>14,.2f} {base}")
    print(f"  charts, CSV and Parquet: {folder / 'index.html'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=REPO / ".demo")
    args = parser.parse_args(argv)

    home: Path = args.home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    log = home / "airflow.log"
    print(f"Starting the Pipedrive and Brevo sandboxes ({args.persons} persons, seed {args.seed}) ...", flush=True)
    proc, info = start_sandboxes(home, args.persons, args.seed)
    try:
        print(f"  Pipedrive sandbox {info['pipedrive']['url']}, Brevo sandbox {info['brevo']['url']}")
        lists = seed_brevo_lists(info["brevo"]["url"])
        print(f"  Brevo lists the mapping names, created in the sandbox: {lists}")
        env = airflow_env(home, info)
        print(f"Preparing a throw-away Airflow home in {home} ...", flush=True)
        if run([sys.executable, "-m", "airflow", "db", "migrate"], env, log) != 0:
            print((log.read_text())[-3000:])
            raise SystemExit("airflow db migrate failed; see " + str(log))
        print(f"Running `airflow dags test {DAG_ID}` (log: {log}) ...", flush=True)
        started = time.monotonic()
        code = run([sys.executable, "-m", "airflow", "dags", "test", DAG_ID], env, log)
        elapsed = time.monotonic() - started
        found = latest_summary(home / "data")
        if code != 0 or found is None:
            print(log.read_text()[-5000:])
            print(f"\nThe DAG run failed after {elapsed:.1f} s; the full log is {log}")
            return 1
        print(f"The DAG run succeeded in {elapsed:.1f} s.")
        print_summary(found[1], info)

        day = datetime.now(UTC).strftime("%Y-%m-%d")
        print(f"\nRunning `airflow dags test {REPORT_DAG_ID}` for {day} ...", flush=True)
        conf = json.dumps({"report_date": day})
        if run([sys.executable, "-m", "airflow", "dags", "test", REPORT_DAG_ID, "-c", conf], env, log) != 0:
            print(log.read_text()[-5000:])
            print(f"\nThe report run failed; the full log is {log}")
            return 1
        print_report(home / "data", day)
        print(f"\nEverything the runs left behind is under {home / 'data'}")
        return 0
    finally:
        stop(proc)


if __name__ == "__main__":
    sys.exit(main())
