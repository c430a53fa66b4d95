"""One offline preview: stack file in, `build/<stack>/` out."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pulumi

from components.intent.loading import SpecError, parse_stack_config
from components.intent.profile import Profile
from components.intent.stack import StackSpec
from components.planning.calibration import ProfileError, load_profile_of
from components.planning.report import preview_section
from components.preview.engine import Recording, run_program
from components.preview.policy import PolicyReport
from components.preview.policy import check as check_policies
from components.preview.stackfile import read_stack_file, stack_name
from components.preview.summary import render
from components.preview.writers import write_build
from components.stack_config import STACK_FILE_ENV

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Preview:
    stack: str
    stack_file: str
    spec: StackSpec
    recording: Recording
    summary: str
    cost: dict = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    policy: PolicyReport | None = None


class InvalidStack(Exception):
    """The stack file cannot be deployed; the message says why, for every problem."""


def shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _discard_stale(out_root: Path | None, stack: str) -> str:
    """A bad file leaves no build behind: an earlier run's files would pass for this file's."""
    if out_root is None or not (out_root / stack).exists():
        return ""
    shutil.rmtree(out_root / stack)
    return f"\nThe earlier preview in {shown_path(out_root / stack)}/ was removed: it does not describe this file."


def _profile(path: Path, spec: StackSpec, shown: str) -> Profile:
    """The measured profile, checked against the model it names before anything runs."""
    try:
        return load_profile_of(path, spec.models, f"a model of {shown}")
    except ProfileError as error:
        raise InvalidStack(str(error)) from None


def preview(stack_file: Path, out_root: Path | None = None, profile_file: Path | None = None) -> Preview:
    """Run the real program for `stack_file` under the recording engine and write the build.
    `profile_file`: a measured profile of one of its models (PROFILE=), which replaces that
    model's assumed step times and cold start in the planning section.

    Raises InvalidStack for a stack file (or profile) that does not validate; nothing is
    written then.
    """
    shown = shown_path(stack_file)
    stack = stack_name(stack_file)
    previous = os.environ.get(STACK_FILE_ENV)
    os.environ[STACK_FILE_ENV] = shown
    try:
        config = read_stack_file(stack_file, shown)
        # Validated here first so a bad file is reported before the Pulumi runtime starts;
        # the program validates the same config again, as `pulumi up` would.
        spec = parse_stack_config(config, shown)
        profile = None if profile_file is None else _profile(profile_file, spec, shown)
        recording = run_program(config, stack)
    except (SpecError, pulumi.RunError) as error:
        raise InvalidStack(str(error) + _discard_stale(out_root, stack)) from None
    finally:
        if previous is None:
            os.environ.pop(STACK_FILE_ENV, None)
        else:
            os.environ[STACK_FILE_ENV] = previous
    policy = check_policies(recording, spec.environment)
    planning, cost = preview_section(spec, profile)
    summary = render(spec, recording, shown, sections=[planning, policy.section()])
    result = Preview(
        stack=stack, stack_file=shown, spec=spec, recording=recording, summary=summary, policy=policy, cost=cost
    )
    if out_root is not None:
        result.files = write_build(recording, out_root / stack, summary, policy=policy.as_json(), cost=cost)
    return result
