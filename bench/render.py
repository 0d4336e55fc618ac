"""Time rendering and validating a release: the minimal and the full example snapshots.

    .venv/bin/python bench/render.py [runs]

Pure work (no database, no network): render(snapshot) then validate(files, snapshot) and build_manifest.
Prints the median and the spread of N runs per release; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RUNS = 25


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from leger.releases.manifest import build_manifest, manifest_json
    from leger.releases.rendering import render
    from leger.releases.snapshot import example_snapshot
    from leger.releases.validation import validate

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_RUNS
    print(f"render + validate + manifest, median of {runs} runs")
    for kind in ("minimal", "full"):
        for exposure in ("port", "path", "subdomain"):
            snapshot = example_snapshot(kind, exposure)
            render_times, validate_times = [], []
            files: dict[str, str] = {}
            for _ in range(runs):
                started = time.perf_counter()
                files = render(snapshot)
                rendered = time.perf_counter()
                problems = validate(files, snapshot)
                manifest_json(build_manifest(snapshot, files))
                validate_times.append(time.perf_counter() - rendered)
                render_times.append(rendered - started)
                if problems:
                    raise SystemExit(f"{kind}/{exposure}: the example does not validate: {problems[0]}")
            total = [r + v for r, v in zip(render_times, validate_times, strict=True)]
            size = sum(len(text.encode()) for text in files.values())
            print(
                f"  {kind:7} {exposure:9} {len(files):3} files {size / 1024:6.1f} KiB   "
                f"render {statistics.median(render_times) * 1000:6.1f} ms   "
                f"validate {statistics.median(validate_times) * 1000:6.1f} ms   "
                f"total {statistics.median(total) * 1000:6.1f} ms "
                f"(min {min(total) * 1000:.1f}, max {max(total) * 1000:.1f})"
            )


if __name__ == "__main__":
    main()
