"""Stack files and their environments, as the JSON the workflows build their matrices from.

`python3 .ci/stacks.py` prints `key=<json>` lines for $GITHUB_OUTPUT: `all` (every stack) and
one list per environment, each entry {"stack": ..., "environment": ...}. Standard library
only: it runs before any virtualenv exists.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("dev", "staging", "prod")
ENVIRONMENT_LINE = re.compile(r"^\s+ml-serving:environment:\s*[\"']?(?P<environment>[a-z]+)[\"']?\s*(#.*)?$", re.M)


def stacks(directory: Path = ROOT / "stacks") -> list[dict[str, str]]:
    found = []
    for path in sorted(directory.glob("Pulumi.*.yaml")):
        match = ENVIRONMENT_LINE.search(path.read_text())
        if match is None or match.group("environment") not in ENVIRONMENTS:
            raise SystemExit(f"{path}: no `ml-serving:environment: dev|staging|prod` line")
        found.append({"stack": path.name[len("Pulumi."):-len(".yaml")], "environment": match.group("environment")})
    return found


def main() -> None:
    entries = stacks()
    lines = [f"all={json.dumps(entries)}"]
    lines += [f"{env}={json.dumps([e for e in entries if e['environment'] == env])}" for env in ENVIRONMENTS]
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
