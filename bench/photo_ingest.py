"""Benchmark: ingesting a 12-megapixel phone JPEG, with JPEG draft (DCT) scaling and, as the baseline, without.

Run: python bench/photo_ingest.py [--runs 15]

Each mode runs in a fresh child process with its own temporary database and media folder:
- time: median (min, max) wall time of `photos.ingest` (hash, check, decode, turn upright, shrink to 1600 px,
  encode picture + thumbnail, fsync both files, insert the row) over --runs photos, each on a new event;
  CPU ms (median process time) is shown beside it, being less disturbed by other work on the machine;
- memory: the child's peak RSS during its first ingest minus its RSS just before it (peak reset through
  /proc/self/clear_refs), i.e. the memory the ingest itself needed, Pillow's C buffers included.
Targets apply to the draft mode (what fieldlog does); the full-decode figures are shown beside them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_MS = 150
TARGET_MB = 80
SIZE = (4000, 3000)


def make_photo(path: Path) -> None:
    """A 12 MP JPEG like a phone's: fine noise over gradients, quality 90, EXIF orientation 6 and GPS."""
    from PIL import Image

    w, h = SIZE
    grain = Image.frombytes("L", SIZE, os.urandom(w * h))
    coarse = Image.frombytes("L", (w // 8, h // 8), os.urandom(w * h // 64)).resize(SIZE, Image.Resampling.BICUBIC)
    ramp = Image.linear_gradient("L").resize(SIZE)
    im = Image.merge("RGB", (Image.blend(coarse, ramp, 0.5), Image.blend(grain, ramp, 0.7),
                             Image.blend(coarse, ramp.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 0.6)))
    exif = Image.Exif()
    exif[0x0112] = 6
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (27.0, 4.0, 48.0), 3: "E", 4: (112.0, 57.0, 0.0)})
    im.save(path, "JPEG", quality=90, exif=exif)


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(mode: str, photo: Path, runs: int) -> dict:
    """Measure one mode in this (fresh) process; return the figures."""
    from fieldlog import accounts, db as db_mod, events, photos

    data = photo.read_bytes()
    with tempfile.TemporaryDirectory(prefix="fieldlog-bench-") as tmp:
        db = db_mod.open_db(Path(tmp) / "bench.db")
        user_id = accounts.create_user(db, "bench", "基准", "inspector", "bench-password-123")
        user = accounts.get_user(db, user_id)
        now = datetime.now(timezone.utc)
        event_ids = []
        for _ in range(runs + 1):
            raw = {"id": str(uuid.uuid4()), "kind": "leaflets", "occurred_at": now.isoformat(), "place": "镇集市",
                   "fields": {"copies": 1}}
            event_ids.append(events.create(db, raw, user=user, now=now, tz=ZoneInfo("Asia/Shanghai"))[0]["id"])
        media = Path(tmp) / "media"
        draft = mode == "draft"

        gc.collect()
        before = _status_kb("VmRSS")
        exact = _reset_peak()
        photo_row, _ = photos.ingest(db, media, event_ids[0], data, user_id, draft=draft)
        peak = _status_kb("VmHWM")

        times, cpu = [], []
        for event_id in event_ids[1:]:
            start, start_cpu = time.perf_counter(), time.process_time()
            photos.ingest(db, media, event_id, data, user_id, draft=draft)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        db.close()
    return {"mode": mode, "median_ms": statistics.median(times), "max_ms": max(times), "min_ms": min(times), "cpu_ms": statistics.median(cpu),
            "rss_before_mb": before / 1024, "peak_rss_mb": peak / 1024, "delta_mb": (peak - before) / 1024,
            "peak_exact": exact, "out": f"{photo_row['width']}x{photo_row['height']}", "stored_kb": photo_row["bytes"] / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PHOTO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), args.runs)))
        return 0

    with tempfile.TemporaryDirectory(prefix="fieldlog-photo-") as tmp:
        photo = Path(tmp) / "phone.jpg"
        make_photo(photo)
        size_mb = photo.stat().st_size / (1024 * 1024)
        print(f"Input: {SIZE[0]}x{SIZE[1]} JPEG (12 MP), quality 90, EXIF orientation 6 + GPS, {size_mb:.1f} MB; "
              f"{args.runs} timed ingests per mode, each mode in a fresh process")
        results = []
        for mode in ("draft", "full"):
            out = subprocess.run([sys.executable, __file__, "--child", mode, str(photo), "--runs", str(args.runs)],
                                 capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min) at the end of the run; "
          "figures are noisy when other work shares the machine")
    print()
    print(f"{'mode':<28}{'median ms':>10}{'min ms':>9}{'max ms':>9}{'CPU ms':>9}{'RSS before':>12}{'peak RSS':>10}{'ingest Δ':>10}  output")
    labels = {"draft": "draft (DCT) scaling [used]", "full": "full decode (baseline)"}
    for r in results:
        print(f"{labels[r['mode']]:<28}{r['median_ms']:>10.1f}{r['min_ms']:>9.1f}{r['max_ms']:>9.1f}{r['cpu_ms']:>9.1f}"
              f"{r['rss_before_mb']:>10.1f}MB{r['peak_rss_mb']:>8.1f}MB{r['delta_mb']:>8.1f}MB  {r['out']}, {r['stored_kb']:.0f} KB")
    draft, full = results
    print()
    print(f"draft vs full: {full['median_ms'] / draft['median_ms']:.1f}x faster, "
          f"{full['delta_mb'] / max(draft['delta_mb'], 0.1):.1f}x less memory")
    if not draft["peak_exact"]:
        print("note: /proc/self/clear_refs not writable: peak includes start-up, an upper bound")
    ok_time = draft["median_ms"] <= TARGET_MS
    ok_mem = draft["delta_mb"] <= TARGET_MB
    print(f"{'PASS' if ok_time else 'FAIL'} median ingest time {draft['median_ms']:.1f} ms <= {TARGET_MS} ms")
    print(f"{'PASS' if ok_mem else 'FAIL'} peak memory of an ingest {draft['delta_mb']:.1f} MB <= {TARGET_MB} MB "
          f"(peak RSS delta of a fresh child process)")
    return 0 if ok_time and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
