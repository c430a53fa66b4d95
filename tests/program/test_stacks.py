"""Every stack file in stacks/ runs through the real program under the recording engine."""
import pytest

from tests.conftest import STACK_NAMES


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_stack_file_synthesizes(stack, previews):
    result = previews(stack)
    assert result.spec.environment in ("dev", "staging", "prod")
    assert result.recording.resources, "a stack creates resources"
    for model in result.spec.models:
        assert f"| {model.name} ({model.version}) | {model.runtime} |" in result.summary


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_child_is_parented_under_a_component(stack, previews):
    recording = previews(stack).recording
    for resource in recording.resources:
        if resource.type.startswith("pulumi:providers:") or resource.type.startswith("ml-serving:"):
            continue
        assert resource.parent_type.startswith("ml-serving:"), f"{resource.type} {resource.name} sits outside a component"


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_resource_names_are_unique_per_type(stack, previews):
    # The real engine rejects duplicates; the mocks do not, so check here.
    seen = set()
    for resource in previews(stack).recording.resources:
        key = (resource.type, resource.name)
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
