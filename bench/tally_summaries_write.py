"""What the tally summaries (migration 027) add to a submission: events.create timed over N events on a file
database (WAL, synchronous=FULL) migrated without 027 (the baseline, same run) and with it. Prints figures;
not a test.

    python bench/tally_summaries_write.py [--n 2000] [--dir /tmp] [--rounds 3]

The events are those the roll-up's summaries see: site patrols (no campaign) and major inspections of a
campaign, over 20 sites and the days of 2021, created through events.create as the API does (validation,
hashing, the insert and every trigger). CPU time per event, the median of the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fieldlog import db as db_mod, events  # noqa: E402
from tests.conftest import make_users  # noqa: E402
from tests.factories import TZ, site, submission, user  # noqa: E402


def run(folder: Path, n: int, with_summaries: bool) -> float:
    """CPU ms per events.create over n events on a fresh file database."""
    path = folder / f"write-{'027' if with_summaries else 'base'}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = db_mod.connect(path)
    files = db_mod.migration_files()
    db_mod.migrate(db, files if with_summaries else [f for f in files if f.stem[:3] < "027"])
    make_users(db)
    sites = [site(db) for _ in range(20)]
    alice = user(db, "alice")
    start = datetime(2021, 1, 4, 9, 0, tzinfo=TZ)
    bodies = []
    for i in range(n):
        when = start + timedelta(days=(i * 360) // n, minutes=i % 500)
        if i % 10 < 7:
            bodies.append(submission("safety_patrol", when, site_id=sites[i % 20]))
        else:
            bodies.append(submission("major_inspection", when, site_id=sites[i % 20],
                                     campaign=(f"专项{i % 4}", "2021-01-01", "2021-12-31")))
    t = time.process_time()
    for body in bodies:
        events.create(db, body, user=alice, now=datetime.fromisoformat(body["occurred_at"]), tz=TZ)
    spent = time.process_time() - t
    assert db.execute("SELECT sum(n) FROM event_tallies").fetchone()[0] == n
    db.close()
    return spent * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        base, summaries = [], []
        for _ in range(args.rounds):  # interleaved, so a change of load touches both alike
            base.append(run(Path(tmp), args.n, False))
            summaries.append(run(Path(tmp), args.n, True))
    b, s = statistics.median(base), statistics.median(summaries)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"] * 3
    print(f"events.create over {args.n} events, CPU ms per event (median of {args.rounds}; load {' '.join(load)})")
    print(f"  without 027 (baseline)  {b:6.3f}")
    print(f"  with 027 summaries      {s:6.3f}   (+{s - b:.3f} ms, {100 * (s - b) / b:+.1f} %)")


if __name__ == "__main__":
    main()
