"""The StackReview facts, the models namespace's network policies and the scanned Deployments."""
from __future__ import annotations

from components.compilers.kserve import inference_service
from components.compilers.network_policy import model_network_policies
from components.compilers.rendered_workloads import predictor_deployments
from components.compilers.review import stack_review
from components.compilers.rollout import served_versions
from components.planning.cost import stack_cost
from tests.conftest import parse, stack_config
from tests.factories import model_of


def test_review_facts_carry_the_estimate_pins_and_each_models_intent():
    spec = parse(stack_config("prod"))
    cost = stack_cost(spec)
    facts = stack_review(spec, cost)
    assert facts["cost"]["idle"]["monthlyUsd"] == round(cost.idle.total_usd, 2)
    assert {i["item"] for i in facts["cost"]["busy"]["items"]} >= {"EKS control plane", "GPU pool l40s (g6e.xlarge)"}
    kserve = next(a for a in facts["addons"] if a["addon"] == "kserve")
    assert kserve == {"addon": "kserve", "chart": "kserve-resources", "pinned": "v0.20.0", "requested": "v0.20.0"}
    llama = next(m for m in facts["models"] if m["name"] == "llama-8b")
    assert llama["canary"]["steps"] == [10, 25, 50, 100] and llama["canary"]["rollbackOnBreach"] is True
    assert llama["vllm"]["gpuMemoryUtilization"] == 0.9 and llama["vllm"]["kvCacheTokens"] > 0
    assert next(m for m in facts["models"] if m["name"] == "llama-70b")["singleReplicaReason"]
    assert facts["warmNodes"] == [{"pool": "l40s", "instanceType": "g6e.xlarge", "instances": 1, "state": "stopped",
                                   "runningMonthlyUsd": 0.0}]


def test_models_namespace_denies_by_default_and_opens_the_needed_flows():
    default, ingress, egress, *_ = model_network_policies()
    assert default["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    sources = [(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], tuple(p["port"] for p in rule["ports"]))
               for rule in ingress["spec"]["ingress"] for peer in rule["from"]]
    assert sources == [("envoy-gateway-system", (8080,)), ("keda", (8080,)), ("monitoring", (8080, 8002))]
    rules = egress["spec"]["egress"]
    assert rules[0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert rules[1]["to"] == [{"ipBlock": {"cidr": "169.254.170.23/32"}}]
    assert rules[2]["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]


def test_pickers_reach_the_servers_they_score_and_a_group_reaches_itself():
    policies = {p["metadata"]["name"]: p["spec"] for p in model_network_policies()}
    having = lambda key: {"matchExpressions": [{"key": key, "operator": "Exists"}]}  # noqa: E731
    picker = policies["endpoint-picker"]
    assert picker["podSelector"] == having("inferencepool")
    assert [(r["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], r["ports"])
            for r in picker["ingress"]] == [("envoy-gateway-system", [{"protocol": "TCP", "port": 9002}]),
                                            ("monitoring", [{"protocol": "TCP", "port": 9090}])]
    assert picker["egress"] == [{"to": [{"podSelector": having("ml-serving/model")}], "ports": [{"protocol": "TCP", "port": 8080}]}]
    assert policies["model-from-picker"]["ingress"] == [
        {"from": [{"podSelector": having("inferencepool")}], "ports": [{"protocol": "TCP", "port": 8080}]}]
    group = policies["replica-group"]
    # Rendezvous and NCCL pick their ports at start: no port list, but only between group pods.
    assert group["podSelector"] == having("leaderworkerset.sigs.k8s.io/name")
    assert group["ingress"] == [{"from": [{"podSelector": having("leaderworkerset.sigs.k8s.io/name")}]}]
    assert group["egress"] == [{"to": [{"podSelector": having("leaderworkerset.sigs.k8s.io/name")}]}]


def test_the_scanned_deployment_is_the_predictor_with_the_runtime_container_under_it():
    spec = parse(stack_config("prod"))
    model = spec.models[0]
    isvc = inference_service(served_versions(model)[0], "l40s", "us-east-1", surge=False)
    runtime = {"kind": "ClusterServingRuntime", "metadata": {"name": isvc["spec"]["predictor"]["model"]["runtime"]},
               "spec": {"containers": [{"name": "kserve-container", "image": "img@sha256:" + "a" * 64, "args": ["--port=8080"]}]}}
    [deployment] = predictor_deployments([runtime, isvc])
    assert deployment["metadata"]["name"] == f"{isvc['metadata']['name']}-predictor"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "model-reader"
    [container] = pod["containers"]
    assert container["image"].startswith("img@") and container["args"] == isvc["spec"]["predictor"]["model"]["args"]


def test_a_hub_source_with_a_revision_passes_it_to_vllm():
    model = model_of("dev", "llama-8b", source="hf://meta-llama/Llama-3.1-8B-Instruct@" + "0e9e39f2" * 5)
    args = inference_service(served_versions(model)[0], "l4", "us-east-1", surge=False)["spec"]["predictor"]["model"]["args"]
    assert args[:2] == ["--model=meta-llama/Llama-3.1-8B-Instruct", "--revision=" + "0e9e39f2" * 5]
