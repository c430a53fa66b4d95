"""Every stack file passes its environment's mandatory policies (what `make synth` enforces)."""
from __future__ import annotations

import pytest

from tests.conftest import STACK_NAMES


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_stack_file_passes_its_mandatory_policies(stack, previews):
    report = previews(stack).policy
    assert report is not None and report.environment == previews(stack).spec.environment
    blocking = [f"{v.policy}: {v.resource_name}: {v.message}" for v in report.mandatory]
    assert blocking == []
    assert report.not_run == []


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_the_summary_shows_the_policy_section(stack, previews):
    result = previews(stack)
    assert f"Pack `ml-serving` with `policies/config.{result.spec.environment}.json`" in result.summary


def test_advisories_still_surface_in_dev(previews):
    # sagemaker-dev runs AWS's tag-published images: allowed in dev, reported all the same.
    report = previews("sagemaker-dev").policy
    assert {v.policy for v in report.violations} >= {"images-pinned-by-digest"}
    assert not report.mandatory
