from components.preview.summary import experiment_line, model_line, rollout_line
from tests.factories import manual_canary_of, model_of


def test_one_line_per_model_on_eks():
    line = model_line(manual_canary_of("prod", "llama-8b"), "eks")
    assert line == {
        "model": "llama-8b (v1)",
        "runtime": "vllm",
        "gpus": "1x L40S on g6e.xlarge",
        "replicas": "5-8, +1 warm",
        "autoscaling": "queue_depth > 1/replica (up 0s, down 900s)",
        "canary": "v2 at 10% of requests, steps [10, 25, 50, 100], up to 1 replica(s), gates: error_rate, ttft_p99, quality",
    }
    assert model_line(model_of("dev", "sentiment"), "eks")["replicas"] == "1, 0 after 1800s idle"


def test_sagemaker_canaries_are_described_as_blue_green_updates():
    line = model_line(model_of("sagemaker-prod", "llama-8b"), "sagemaker")
    assert line["canary"].startswith("v2 rolling out by blue/green update, shifts [10, 100], rollback alarms on: ")


def test_each_models_rollout_state_machine_in_one_line():
    assert rollout_line(model_of("prod", "llama-8b")) == (
        "Flagger: 0% -> 10% -> 25% -> 50% -> 100% -> promote, one step per 600s while every gate holds; "
        "1 failed check(s) -> weight 0 (Failed); no data holds the step; v2 in flight"
    )
    assert model_line(model_of("prod", "llama-8b"))["canary"].startswith("v2 driven by Flagger, steps [10, 25, 50, 100], up to 8")
    assert rollout_line(model_of("staging", "llama-8b")).startswith("manual: the stack file sets the step (now 50%)")
    assert rollout_line(model_of("prod", "llama-70b")) == "manual: no candidate"
    assert rollout_line(model_of("sagemaker-prod", "llama-8b"), "sagemaker").endswith("; v2 in flight")


def test_each_models_experiment_in_one_line():
    assert experiment_line(model_of("staging", "llama-8b")) == (
        "A/B prompt-v2: b=v2 by header X-Experiment-Group: B, control=v1 by cookie ml-cohort: control; "
        "others take the default route; sticky 86400s; shadow v3 mirrors 10% (answers discarded)"
    )
    assert experiment_line(model_of("prod", "llama-8b")) == "none"
