import pytest

from components.compilers.rollout import served_versions
from components.compilers.routing import http_route
from tests.factories import manual_canary_of, model_of


@pytest.mark.parametrize("percent, weights", [(0, [100, 0]), (10, [90, 10]), (25, [75, 25]), (100, [0, 100])])
def test_requests_are_weighted_by_the_current_step(percent, weights):
    model = manual_canary_of("prod", "llama-8b", percent)
    route = http_route(model, served_versions(model), "models.internal")
    backends = route["spec"]["rules"][0]["backendRefs"]
    assert [(b["name"], b["weight"]) for b in backends] == [
        ("llama-8b-v1-predictor", weights[0]),
        ("llama-8b-v2-predictor", weights[1]),
    ]
    assert route["spec"]["hostnames"] == ["llama-8b.models.internal"]
    assert route["metadata"]["annotations"] == {"ml-serving/canary-steps": "10,25,50,100", "ml-serving/canary-rollback": "manual"}
    assert route["spec"]["parentRefs"] == [{"name": "models", "namespace": "models"}]


def test_scale_to_zero_models_go_through_the_interceptor():
    model = model_of("dev", "sentiment")
    rule = http_route(model, served_versions(model), "models.internal")["spec"]["rules"][0]
    # The first request after idling waits out a cold start before its 600 s to answer.
    assert rule["timeouts"] == {"request": f"{600 + 1200 + 360 + 300 + 26}s"}
    backends = rule["backendRefs"]
    assert backends == [
        {"group": "", "kind": "Service", "name": "keda-add-ons-http-interceptor-proxy", "namespace": "keda", "port": 8080, "weight": 100}
    ]


def test_long_generations_are_not_cut_by_the_gateway():
    model = model_of("prod", "llama-70b")
    assert "annotations" not in http_route(model, served_versions(model), "x.internal")["metadata"]
    assert http_route(model, served_versions(model), "x.internal")["spec"]["rules"][0]["timeouts"] == {"request": "600s"}
