"""`python -m components.preview --stack dev` (what `make synth` runs)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from components.preview.run import ROOT, InvalidStack, preview


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make synth",
        description="Offline preview: run the program under a recording mock engine and write build/<stack>/.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--stack", default="dev", help="stack name: reads stacks/Pulumi.<stack>.yaml (default dev)")
    source.add_argument("--stack-file", type=Path, help="any stack file")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output root (default build/)")
    parser.add_argument("--profile", type=Path, help="a measured profile of one of the stack's models (make loadtest, "
                        "components/planning/profile_build.py): its step times and cold start replace the assumptions")
    args = parser.parse_args(argv)
    stack_file = args.stack_file or ROOT / "stacks" / f"Pulumi.{args.stack}.yaml"
    try:
        result = preview(stack_file, args.out, args.profile)
    except InvalidStack as error:
        print(error, file=sys.stderr)
        return 2
    print(result.summary)
    print(f"Wrote {len(result.files)} files to {args.out / result.stack}/")
    if result.policy is not None and result.policy.mandatory:
        print(
            f"{len(result.policy.mandatory)} mandatory policy violations in stack {result.stack} "
            f"(see the Policies section of {args.out / result.stack / 'summary.md'})",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
