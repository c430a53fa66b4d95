"""Config keys outside `ml-serving:`, values too long to echo, numbers where text belongs,
every problem at once, and stacks that would deploy no models."""
import pytest

from components.intent.loading import NAMESPACES, PROVIDER_NAMESPACES, SpecError
from tests.conftest import STACK_NAMES, parse, problems_of, stack_config

ALLOWED = "ml-serving:, aws:, docker-build:, kubernetes:, random:, pulumi:"


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("ml-servng:models", "ml-serving:models"),
        ("mlserving:models", "ml-serving:models"),
        ("ML-Serving:models", "ml-serving:models"),
        ("ml_serving:cluster", "ml-serving:cluster"),
        ("ml-serving-prod:models", "ml-serving:models"),
    ],
)
def test_a_namespace_near_ml_serving_is_an_error_with_a_suggestion(dev_config, key, suggestion):
    dev_config[key] = dev_config["ml-serving:models"]
    assert problems_of(dev_config) == [
        f"{key}: unknown namespace {key.split(':')[0]!r} (did you mean {suggestion}?); ml-serving reads only "
        "ml-serving: keys, so this one would be ignored"
    ]


def test_an_unknown_namespace_lists_the_allowed_ones(dev_config):
    dev_config["gcp:project"] = "x"
    dev_config["kuberntes:context"] = "x"
    assert problems_of(dev_config) == [
        f"gcp:project: unknown namespace 'gcp'; allowed: {ALLOWED} (the providers this program uses, and Pulumi's own)",
        f"kuberntes:context: unknown namespace 'kuberntes' (did you mean kubernetes:context?); allowed: {ALLOWED} "
        "(the providers this program uses, and Pulumi's own)",
    ]


def test_a_key_without_namespace(dev_config):
    dev_config["models"] = []
    assert problems_of(dev_config) == [
        "models: a config key needs a namespace, <namespace>:<name> (did you mean ml-serving:models?)"
    ]


def test_a_misspelt_region_key_is_named(dev_config):
    dev_config["aws:regoin"] = dev_config.pop("aws:region")
    assert problems_of(dev_config) == [
        "aws:regoin: unknown key (did you mean aws:region?)",
        "aws:region: required; set it with `pulumi config set aws:region us-east-1`",
    ]


def test_provider_and_pulumi_keys_are_accepted(dev_config):
    dev_config["pulumi:tags"] = {"owner": "ml"}
    dev_config["random:x"] = "y"
    dev_config["docker-build:registries"] = "[]"
    assert parse(dev_config).environment == "dev"


def test_the_namespaces_are_exactly_the_packages_the_program_creates_resources_with(previews):
    used: set[str] = set()
    for stack in STACK_NAMES:
        for resource in previews(stack).recording.resources:
            if resource.custom:
                used.add(resource.type.split(":")[0])
    assert used - {"pulumi"} == set(PROVIDER_NAMESPACES)
    assert NAMESPACES == ("ml-serving", *PROVIDER_NAMESPACES, "pulumi")


def test_unquoted_kubernetes_version_says_to_quote_it(dev_config):
    dev_config["ml-serving:cluster"]["kubernetes_version"] = 1.35
    assert problems_of(dev_config) == [
        "ml-serving:cluster.kubernetes_version: Input should be '1.34', '1.35' or '1.36' (got 1.35); "
        'write it as a string: "1.35"'
    ]


def test_a_number_for_a_text_field_says_to_quote_it(dev_config):
    dev_config["ml-serving:models"][0]["version"] = 2
    dev_config["ml-serving:tags"]["cost-center"] = 4410
    dev_config["ml-serving:cluster"]["addon_versions"] = {"keda_http_add_on": 0.15}
    assert problems_of(dev_config) == [
        'ml-serving:tags.cost-center: Input should be a valid string (got 4410); write it as a string: "4410"',
        'ml-serving:cluster.addon_versions.keda_http_add_on: Input should be a valid string (got 0.15); write it as '
        'a string: "0.15"',
        'ml-serving:models[0].version: Input should be a valid string (got 2); write it as a string: "2"',
    ]


def test_a_huge_value_is_never_echoed(dev_config):
    dev_config["ml-serving:storage"]["bucket"] = "b" * 10_000_000
    dev_config["ml-serving:tags"]["x" * 5000] = "y"
    dev_config["ml-serving:models"][0]["name"] = "Q" * 3000
    dev_config["ml-serving:" + "k" * 500] = 1
    problems = problems_of(dev_config)
    assert max(len(p) for p in problems) < 400
    assert "ml-serving:storage.bucket: 10,000,000 characters (starting 'bbbbbbbbbbbbbbbbbbbb'); values are at most 2,048" in problems
    assert sum("character" in p for p in problems) == 4


def test_a_long_value_within_bounds_is_cut_in_the_message(dev_config):
    dev_config["ml-serving:models"][0]["source"] = "s3://" + "a" * 1500
    (problem,) = problems_of(dev_config)
    assert problem.startswith("ml-serving:models[0].source: 's3://aaaa")
    assert "... (1,507 characters)" in problem and len(problem) < 300


def test_cross_field_rules_are_reported_next_to_field_errors(dev_config):
    model = dev_config["ml-serving:models"][0]
    model["autoscaling"]["max_replicas"] = 500                      # field error in the model
    del model["slo"]["ttft_p99_ms"]                                 # the model's own cross-field rule
    dev_config["ml-serving:models"][1]["source"] = "s3://elsewhere/x/"  # the stack's cross-field rule
    dev_config["ml-serving:network"]["availability_zones"] = 9       # field error elsewhere
    assert problems_of(dev_config) == [
        "ml-serving:network.availability_zones: Input should be less than or equal to 4 (got 9)",
        "ml-serving:models[0].autoscaling.max_replicas: Input should be less than or equal to 100 (got 500)",
        "ml-serving:models[0].slo.ttft_p99_ms: a vLLM model needs a time-to-first-token objective",
        "ml-serving:models[1].source: s3://elsewhere/x/ is outside the model bucket acme-ml-serving-models-dev; model "
        "roles can read only that bucket, so upload the weights there",
    ]


def test_a_rule_needing_an_invalid_field_is_skipped_not_guessed(dev_config):
    # max_replicas is invalid: the min/max rule must not compare min_replicas with a default.
    dev_config["ml-serving:models"][0]["autoscaling"].update({"max_replicas": "lots", "min_replicas": 2})
    assert problems_of(dev_config) == [
        "ml-serving:models[0].autoscaling.max_replicas: Input should be a valid integer, unable to parse string as "
        "an integer (got 'lots')"
    ]


@pytest.mark.parametrize("stack", ["staging", "prod", "sagemaker-prod"])
def test_staging_and_prod_stacks_need_models(stack):
    config = stack_config(stack)
    config["ml-serving:models"] = []
    environment = config["ml-serving:environment"]
    expected = (
        f"ml-serving:models: a {environment} stack serves at least one model; with none, `pulumi up` would delete "
        "every model it runs (list them under ml-serving:models)"
    )
    assert expected in problems_of(config)


def test_a_dev_eks_stack_may_have_no_models(dev_config):
    dev_config["ml-serving:models"] = []
    assert parse(dev_config).models == []


def test_a_number_that_is_no_allowed_version_still_says_to_quote(dev_config):
    dev_config["ml-serving:cluster"]["kubernetes_version"] = 1.30  # YAML reads 1.30 as 1.3
    assert problems_of(dev_config) == [
        "ml-serving:cluster.kubernetes_version: Input should be '1.34', '1.35' or '1.36' (got 1.3); unquoted, YAML "
        'reads it as a number: write it as a string, such as "1.36"'
    ]


def test_yes_read_as_a_boolean_says_to_quote(dev_config):
    dev_config["ml-serving:environment"] = True
    assert problems_of(dev_config) == [
        "ml-serving:environment: Input should be 'dev', 'staging' or 'prod' (got True); YAML reads "
        "true/false/yes/no/on/off unquoted as a boolean: write the value in quotes"
    ]


def test_thousands_of_broken_entries_are_counted_not_all_listed(dev_config):
    dev_config["ml-serving:models"] = ["junk"] * 180
    with pytest.raises(SpecError) as caught:
        parse(dev_config)
    text = str(caught.value)
    assert text.startswith("stacks/Pulumi.test.yaml: 180 problems in the stack configuration:\n")
    assert "  - ml-serving:models[49]: Input should be a valid dictionary or instance of ModelSpec (got 'junk')\n" in text
    assert "  ... and 130 more, most likely of the same kind\nNothing was created, changed or deleted." in text
    assert len(text.splitlines()) == 53
