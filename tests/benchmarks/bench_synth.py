"""Benchmark of `make synth` for stacks with 1, 10 and 100 models (`make bench`; not a test).

Each stack is the dev stack file with N copies of its vLLM model. Every run is a fresh
process, as `make synth` is: `python -m components.preview --stack-file <file> --out <dir>`;
wall time and peak resident memory are the process's own. The planning section's share is
timed in-process on the same stack.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from components.intent.loading import parse_stack_config
from components.planning.report import preview_section
from tests.benchmarks.common import ROOT, machine, stack_with_models, timed

RUNNER = """
import resource, runpy, sys
sys.argv = ["components.preview", "--stack-file", sys.argv[1], "--out", sys.argv[2]]
code = 0
try:
    runpy.run_module("components.preview", run_name="__main__")
except SystemExit as done:
    code = done.code or 0
print("MAXRSS_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def synth(stack_file: Path, out: Path) -> tuple[float, int, int, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(stack_file), str(out)], cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    rss = next((int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("MAXRSS_KIB")), 0)
    return wall, rss, done.returncode, done.stderr[-400:]


def main() -> None:
    print(f"# make synth benchmark ({machine()})\n")
    print("| models | resources | make synth wall (s, median of 3) | best (s) | peak RSS (MiB) | planning section (s) | exit |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for count in (1, 10, 100):
            document = stack_with_models(count)
            stack_file = root / f"Pulumi.bench{count}.yaml"
            stack_file.write_text(yaml.safe_dump(document, sort_keys=False))
            runs = [synth(stack_file, root / "out") for _ in range(3 if count < 100 else 1)]
            walls = sorted(r[0] for r in runs)
            wall = walls[len(walls) // 2]
            rss = max(r[1] for r in runs)
            code = runs[-1][2]
            resources = "?"
            listing = root / "out" / f"bench{count}" / "resources.json"
            if listing.exists():
                resources = str(len(json.loads(listing.read_text())))
            spec = parse_stack_config(document["config"], str(stack_file))
            planning, _, _ = timed(lambda: preview_section(spec), 1)
            print(f"| {count} | {resources} | {wall:.1f} | {walls[0]:.1f} | {rss / 1024:.0f} | {planning:.1f} | {code} |", flush=True)
            if code not in (0, 1):
                print(f"<!-- stderr: {runs[-1][3]!r} -->")


if __name__ == "__main__":
    main()
