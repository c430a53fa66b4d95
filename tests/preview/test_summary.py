from components.preview.summary import model_line
from tests.factories import model_of


def test_one_line_per_model_on_eks():
    line = model_line(model_of("prod", "llama-8b"), "eks")
    assert line == {
        "model": "llama-8b (v1)",
        "runtime": "vllm",
        "gpus": "1x L40S on g6e.xlarge",
        "replicas": "5-8, +1 warm",
        "autoscaling": "queue_depth > 1/replica (up 0s, down 900s)",
        "canary": "v2 at 10% of requests, steps [10, 25, 50, 100], up to 1 replica(s), gates: error_rate, ttft_p99",
    }
    assert model_line(model_of("dev", "sentiment"), "eks")["replicas"] == "1, 0 after 1800s idle"


def test_sagemaker_canaries_are_described_as_blue_green_updates():
    line = model_line(model_of("sagemaker-prod", "llama-8b"), "sagemaker")
    assert line["canary"].startswith("v2 rolling out by blue/green update, shifts [10, 100], rollback alarms on: ")
