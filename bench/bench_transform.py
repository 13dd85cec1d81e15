"""How fast the transform builds the Brevo contacts, against a row-by-row reading of the same rules.

    python -m bench.bench_transform [--persons 1000000] [--deals 3000000] [--activities 5000000]
                                    [--baseline 100000] [--seed 1]

1. A child process generates the account (sandbox.generator, plus extra deals and activities on
   random persons up to the asked counts) and writes one Parquet file per entity, so the
   generator's own memory does not count.
2. A fresh child process reads them (the DAG reads snapshots) and times the full build: contacts
   (identity, merging, attributes, deal metrics, lists), activity events and the first diff; it
   prints the time and its peak memory (ru_maxrss).
3. The incremental batch: 1,000 changed persons (names, 50 new emails, 50 deleted) rebuilt through
   affected_persons + scope + diff, against the state of step 2.
4. The row-by-row reading (tests/transform/reference.py) and the vectorised build on the first
   ``--baseline`` persons (with their deals and leads), timed in the same run; the ratio is the
   last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "plugins"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ENTITIES = ("persons", "deals", "leads", "organizations", "users", "activities")
COLUMNS = {
    "deals": ["id", "person_id", "status", "value", "currency", "stage_id", "is_deleted"],
    "activities": ["id", "type", "subject", "done", "due_date", "deal_id", "person_id", "add_time", "is_deleted"],
    "leads": ["id", "person_id", "is_archived"],
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, persons: int, deals: int, activities: int, seed: int) -> None:
    """Step 1 (run in a child): the account as Parquet, one file per entity."""
    import numpy as np
    import pandas as pd

    from sandbox.generator import generate_account
    account = generate_account(persons, seed=seed, now=NOW)
    person_ids = np.array([p["id"] for p in account.persons])
    rng = np.random.default_rng(seed)
    for name in ENTITIES:
        frame = pd.DataFrame(getattr(account, name))
        target = {"deals": deals, "activities": activities}.get(name)
        if target and target > len(frame):
            extra = frame.sample(target - len(frame), replace=True, random_state=seed).reset_index(drop=True)
            extra["id"] = np.arange(len(frame) + 1, target + 1)
            extra["person_id"] = rng.choice(person_ids, size=len(extra))
            frame = pd.concat([frame, extra], ignore_index=True)
        frame.to_parquet(folder / f"{name}.parquet")
        setattr(account, name, [])
    (folder / "fields.json").write_text(json.dumps({"person": account.person_fields,
                                                    "organization": account.organization_fields}))


def measure(folder: Path, baseline: int) -> dict[str, float]:
    """Steps 2-4 (run in a fresh child)."""
    import pandas as pd

    from pipedrive_brevo.config import load_mapping, resolve_custom_fields
    from pipedrive_brevo.transform import contacts, events, identity, plan
    from pipedrive_brevo.transform.fields import attribute_specs

    # only the columns the transform reads, as a DAG would load them from its snapshots
    frames = {name: pd.read_parquet(folder / f"{name}.parquet", columns=COLUMNS.get(name)) for name in ENTITIES}
    definitions = json.loads((folder / "fields.json").read_text())
    mapping = load_mapping()
    specs = attribute_specs(resolve_custom_fields(mapping, definitions["person"]), None,
                            person_fields=definitions["person"], organization_fields=definitions["organization"])
    before = peak_mb()
    started = time.perf_counter()
    built = contacts.build_contacts(mapping, specs, frames["persons"], deals=frames["deals"], leads=frames["leads"],
                                    organizations=frames["organizations"], users=frames["users"])
    build_s = time.perf_counter() - started
    names = events.event_names(mapping.webhooks)
    activity, _ = events.activity_events(frames["activities"], built.persons, names)
    events_s = time.perf_counter() - started - build_s
    first = plan.diff(built.contacts, None, events=activity)
    full_s = time.perf_counter() - started
    state = plan.apply_plan(None, first)
    figures = {"persons": len(frames["persons"]), "deals": len(frames["deals"]),
               "activities": len(frames["activities"]), "contacts": len(built.contacts),
               "build_s": build_s, "events_s": events_s, "diff_s": full_s - build_s - events_s, "full_s": full_s,
               "peak_mb": peak_mb(), "peak_before_mb": before}

    # 3. incremental: 1,000 changed persons
    persons = frames["persons"]
    region = mapping.options.default_phone_region
    keys_before = identity.identity_keys(persons, region)
    changed = random.Random(7).sample(list(persons["id"]), 1000)
    rows = persons.set_index("id").loc[changed].reset_index()
    rows["first_name"] = rows["first_name"].astype("string") + " Jr"
    rows.loc[:49, "emails"] = pd.Series([[{"value": f"moved{i}@new.example", "primary": True}] for i in range(50)])
    rows.loc[50:99, "is_deleted"] = True
    rows["update_time"] = "2026-11-24T12:30:00Z"
    after = pd.concat([persons[~persons["id"].isin(changed)], rows], ignore_index=True)
    started = time.perf_counter()
    new_keys = identity.identity_keys(rows, region)
    keys_now = keys_before.copy()
    keys_now.loc[new_keys.index, ["email", "sms"]] = new_keys[["email", "sms"]].to_numpy()
    ids = contacts.affected_persons(changed, keys_now, keys_before)
    deals, leads = frames["deals"], frames["leads"]
    part = contacts.build_contacts(mapping, specs, after[after["id"].isin(ids)],
                                   deals=deals[deals["person_id"].isin(ids)], leads=leads[leads["person_id"].isin(ids)],
                                   organizations=frames["organizations"], users=frames["users"])
    emails = pd.concat([keys_now.reindex(ids)["email"], keys_before.reindex(ids)["email"]]).dropna().unique()
    step = plan.diff(part.contacts, plan.scope(state, emails, ids.astype(str)),
                     deleted_ext_ids=rows.loc[50:99, "id"].astype(str))
    figures["incremental_s"] = time.perf_counter() - started
    figures["incremental_plan"] = step.summary()

    # 4. row-by-row against vectorised, same persons, same run
    from tests.transform.reference import build_rows
    sample = persons.iloc[:baseline]
    ids = set(sample["id"])
    sample_deals = deals[deals["person_id"].isin(ids)]
    sample_leads = leads[leads["person_id"].isin(ids)]
    import pyarrow as pa
    records = {name: pa.Table.from_pandas(frame, preserve_index=False).to_pylist() for name, frame in
               (("persons", sample), ("deals", sample_deals), ("leads", sample_leads),
                ("organizations", frames["organizations"]), ("users", frames["users"]))}
    started = time.perf_counter()
    build_rows(mapping, specs, records["persons"], deals=records["deals"], leads=records["leads"],
               organizations=records["organizations"], users=records["users"])
    figures["rows_s"] = time.perf_counter() - started
    from pipedrive_brevo.transform import identity as cached
    cached.to_e164.cache_clear()
    cached.is_valid_email.cache_clear()
    started = time.perf_counter()
    contacts.build_contacts(mapping, specs, sample, deals=sample_deals, leads=sample_leads,
                            organizations=frames["organizations"], users=frames["users"])
    figures["vectorised_s"] = time.perf_counter() - started
    figures["baseline_persons"] = len(sample)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--deals", type=int, default=3_000_000)
    parser.add_argument("--activities", type=int, default=5_000_000)
    parser.add_argument("--baseline", type=int, default=100_000, help="persons for the row-by-row comparison")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--step", choices=["generate", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step == "generate":
        generate(Path(args.folder), args.persons, args.deals, args.activities, args.seed)
        return 0
    if args.step == "measure":
        print(json.dumps(measure(Path(args.folder), args.baseline)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-transform-") as folder:
        base = [sys.executable, str(Path(__file__).resolve()), "--folder", folder, "--persons", str(args.persons),
                "--deals", str(args.deals), "--activities", str(args.activities), "--seed", str(args.seed),
                "--baseline", str(args.baseline)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])}
        started = time.perf_counter()
        subprocess.run([*base, "--step", "generate"], check=True, cwd=REPO, env=env)
        print(f"generated {args.persons:,} persons, {args.deals:,} deals, {args.activities:,} activities "
              f"in {time.perf_counter() - started:.0f} s", flush=True)
        out = subprocess.run([*base, "--step", "measure"], cwd=REPO, env=env, capture_output=True, text=True)
        if out.returncode:
            print(out.stderr, file=sys.stderr)
            return out.returncode
        f = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"contacts: {f['contacts']:,} from {f['persons']:,} persons, {f['deals']:,} deals, "
          f"{f['activities']:,} activities")
    print(f"full build: {f['full_s']:.1f} s (contacts {f['build_s']:.1f} s, events {f['events_s']:.1f} s, "
          f"first diff {f['diff_s']:.1f} s), peak memory {f['peak_mb'] / 1024:.2f} GB "
          f"({f['peak_before_mb'] / 1024:.2f} GB of it the frames read)   aim: < 60 s, < 4 GB")
    print(f"incremental batch of 1,000 changed persons: {f['incremental_s']:.2f} s   aim: < 2 s   "
          f"{f['incremental_plan']}")
    ratio = f["rows_s"] / f["vectorised_s"]
    print(f"row-by-row {f['rows_s']:.1f} s vs vectorised {f['vectorised_s']:.1f} s on {f['baseline_persons']:,} "
          f"persons: {ratio:.1f}x faster   aim: >= 20x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
