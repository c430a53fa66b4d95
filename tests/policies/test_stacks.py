"""Every stack file passes its environment's mandatory policies (what `make synth` enforces)."""
from __future__ import annotations

import pytest

from tests.conftest import STACK_NAMES

# Known findings on our own generated resources, reported rather than hidden by weakening a
# policy. Remove an entry when its cause is fixed; test_known_gaps_are_still_real says when.
KNOWN_GAPS = {
    # __main__.py still passes upstream image references to ServingRuntimes until ServingImages
    # (issue 5) is wired in, and the warm-pool placeholder pulls registry.k8s.io/pause directly.
    "images-from-private-ecr",
    # AWS SageMaker images come from sagemaker.core.image_uris by tag; nothing resolves their digest yet.
    "images-pinned-by-digest",
}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_stack_file_passes_its_mandatory_policies(stack, previews):
    report = previews(stack).policy
    assert report is not None and report.environment == previews(stack).spec.environment
    blocking = [f"{v.policy}: {v.resource_name}: {v.message}" for v in report.mandatory if v.policy not in KNOWN_GAPS]
    assert blocking == []
    assert report.not_run == []


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_the_summary_shows_the_policy_section(stack, previews):
    result = previews(stack)
    assert f"Pack `ml-serving` with `policies/config.{result.spec.environment}.json`" in result.summary


def test_known_gaps_are_still_real(previews):
    found = {v.policy for stack in STACK_NAMES for v in previews(stack).policy.violations}
    assert KNOWN_GAPS <= found, f"fixed, remove from KNOWN_GAPS: {sorted(KNOWN_GAPS - found)}"
