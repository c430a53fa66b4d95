"""Every policy passes the compliant stack and fails, alone, on a small bad input."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from policies.ml_serving_policies import POLICIES
from policies.ml_serving_policies.governance import COST_BEARING
from tests.policies.world import DIGEST, ECR, STRICT, TAGS, copy_of, failing, resource, violations, world

World = dict[str, Any]


@dataclass(frozen=True)
class Case:
    policy: str
    id: str
    breaks: Callable[[World], None]
    says: str  # a fragment of the violation message


def _set(resource: Any, path: str | tuple[str, ...], value: Any) -> None:
    # Dotted text, or a tuple where a key has dots of its own (nvidia.com/gpu).
    *parents, last = path.split(".") if isinstance(path, str) else path
    node = resource.inputs
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


_DELETE = object()


def setting(key: str, path: str | tuple[str, ...], value: Any = _DELETE) -> Callable[[World], None]:
    return lambda w: _set(w[key], path, value)


def _replace_iam(w: World, *statements: dict[str, Any]) -> None:
    w["role_policy"].inputs["policy"] = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _route_through_igw(w: World) -> None:
    # An untagged subnet whose route table sends 0.0.0.0/0 to the internet gateway.
    sneaky = resource("aws:ec2/subnet:Subnet", "sneaky", {"cidrBlock": "10.0.64.0/19"})
    w["sneaky"] = sneaky
    w["sneaky_association"] = resource(
        "aws:ec2/routeTableAssociation:RouteTableAssociation", "sneaky", {"subnetId": "s", "routeTableId": "r"},
        depends_on=(sneaky.urn, w["public_routes"].urn))
    w["gpu_nodes"].depends_on.append(sneaky.urn)


def _no_default_tags(w: World) -> None:
    del w["aws"].inputs["defaultTags"]


CASES = [
    Case("gpu-requests-equal-limits", "request-differs",
         setting("isvc", ("spec", "predictor", "model", "resources", "requests", "nvidia.com/gpu"), "2"), "requests 2 nvidia.com/gpu but limits 1;"),
    Case("gpu-requests-equal-limits", "no-limit",
         setting("warm_pool", "spec.template.spec.containers.0.resources.limits", {}), "sets no limit"),
    Case("gpu-requests-equal-limits", "fraction",
         lambda w: [setting("warm_pool", ("spec", "template", "spec", "containers", "0", "resources", kind, "nvidia.com/gpu"), "0.5")(w)
                   for kind in ("limits", "requests")],
         "limits nvidia.com/gpu to 0.5; GPUs are whole devices"),
    Case("gpu-model-servers-shared-memory", "no-mount",
         setting("isvc", "spec.predictor.model.volumeMounts", []), "mounts nothing at /dev/shm"),
    Case("gpu-model-servers-shared-memory", "disk-backed",
         setting("isvc", "spec.predictor.volumes.0.emptyDir", {"sizeLimit": "2Gi"}), "is not an emptyDir with medium: Memory"),
    Case("gpu-model-servers-shared-memory", "unbounded",
         setting("isvc", "spec.predictor.volumes.0.emptyDir.sizeLimit"), "has no sizeLimit"),
    Case("model-servers-readiness-probe", "none",
         setting("isvc", "spec.predictor.model.readinessProbe"),
         "neither the predictor or its runtime ml-serving-vllm defines a readinessProbe"),
    Case("containers-run-as-non-root", "runtime-default-user",
         setting("runtime", "spec.containers.0.securityContext"),
         "spec.containers[0] (kserve-container) sets neither runAsNonRoot: true nor a non-zero runAsUser"),
    Case("containers-run-as-non-root", "uid-0",
         setting("warm_pool", "spec.template.spec.containers.0.securityContext.runAsUser", 0), "runs as uid 0"),
    Case("containers-run-as-non-root", "privileged-model",
         setting("isvc", "spec.predictor.model.securityContext", {"privileged": True}),
         "spec.predictor.model runs privileged"),
    Case("online-models-keep-warm-replica", "isvc-zero",
         setting("isvc", "spec.predictor.minReplicas", 0), "spec.predictor.minReplicas is 0"),
    Case("online-models-keep-warm-replica", "keda-idle",
         setting("scaled_object", "spec.idleReplicaCount", 0), "spec.idleReplicaCount is 0"),
    Case("online-models-keep-warm-replica", "keda-default-min",
         setting("scaled_object", "spec.minReplicaCount"), "spec.minReplicaCount is 0"),
    Case("online-models-keep-warm-replica", "sagemaker-zero",
         setting("sm_target", "minCapacity", 0), "minCapacity is 0 for endpoint/llama/variant/primary"),
    Case("autoscaling-on-load-signals", "keda-gpu-util",
         setting("scaled_object", "spec.triggers.0.metadata.query", "avg(DCGM_FI_DEV_GPU_UTIL)"),
         "queries DCGM_FI_DEV_GPU_UTIL"),
    Case("autoscaling-on-load-signals", "keda-cpu",
         setting("scaled_object", "spec.triggers.0", {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}),
         "is a cpu trigger"),
    Case("autoscaling-on-load-signals", "kserve-hpa",
         setting("isvc", ("metadata", "annotations", "serving.kserve.io/autoscalerClass"), "hpa"), "scales on CPU utilization"),
    Case("autoscaling-on-load-signals", "kserve-scale-metric",
         setting("isvc", "spec.predictor.scaleMetric", "memory"), "scaleMetric is memory"),
    Case("autoscaling-on-load-signals", "sagemaker-gpu",
         setting("sm_scaling", "targetTrackingScalingPolicyConfiguration", {"targetValue": 70, "customizedMetricSpecification": {
             "metricName": "GPUUtilization", "namespace": "/aws/sagemaker/Endpoints", "statistic": "Average"}}),
         "target tracking on GPUUtilization"),
    Case("max-replicas-bounded", "isvc",
         setting("isvc", "spec.predictor.maxReplicas", 64), "spec.predictor.maxReplicas is 64; the limit for this environment is 32"),
    Case("max-replicas-bounded", "keda-unset",
         setting("scaled_object", "spec.maxReplicaCount"), "KEDA then allows 100 replicas"),
    Case("max-replicas-bounded", "sagemaker",
         setting("sm_target", "maxCapacity", 40), "maxCapacity is 40"),
    Case("images-pinned-by-digest", "tag",
         setting("runtime", "spec.containers.0.image", f"{ECR}/ml-serving-vllm:v1"), "is not pinned by digest"),
    Case("images-pinned-by-digest", "sagemaker-tag",
         setting("sm_model", "primaryContainer.image", f"{ECR}/ml-serving-vllm:latest"), "primaryContainer runs"),
    Case("images-from-private-ecr", "docker-hub",
         setting("runtime", "spec.containers.0.image", f"vllm/vllm-openai:v0.31.0@{DIGEST}"), "from outside ECR"),
    Case("images-from-private-ecr", "public-ecr",
         setting("warm_pool", "spec.template.spec.containers.0.image", f"public.ecr.aws/eks-distro/kubernetes/pause@{DIGEST}"),
         "from outside ECR"),
    Case("sagemaker-canary-first-step-small", "big-canary",
         setting("sm_endpoint", "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.canarySize.value", 50),
         "shifts 50% of capacity first; at most 10% here"),
    Case("sagemaker-canary-first-step-small", "all-at-once",
         setting("sm_endpoint", "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration",
                 {"type": "ALL_AT_ONCE", "waitIntervalInSeconds": 0}), "ALL_AT_ONCE"),
    Case("sagemaker-canary-first-step-small", "linear-instances",
         setting("sm_endpoint", "deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration",
                 {"type": "LINEAR", "waitIntervalInSeconds": 300, "linearStepSize": {"type": "INSTANCE_COUNT", "value": 3}}),
         "linearStepSize shifts 3 instances first"),
    Case("sagemaker-canary-first-step-small", "rolling-batch",
         setting("sm_endpoint", "deploymentConfig", {
             "rollingUpdatePolicy": {"maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 100}, "waitIntervalInSeconds": 60},
             "autoRollbackConfiguration": {"alarms": [{"alarmName": "llama-errors"}]}}),
         "rollingUpdatePolicy.maximumBatchSize shifts 100% of capacity"),
    Case("eks-canary-first-step-small", "big-first-step",
         setting("route", ("metadata", "annotations", "ml-serving/canary-steps"), "60,100"),
         "the canary's first step sends 60% of requests to the candidate; at most 10% here"),
    Case("eks-canary-first-step-small", "big-automated-first-step",
         setting("flagger_canary", "spec.analysis.stepWeights", [60, 100]),
         "the canary's first step sends 60% of requests to the candidate; at most 10% here"),
    Case("eks-canary-first-step-small", "garbled",
         setting("route", ("metadata", "annotations", "ml-serving/canary-steps"), "half,all"),
         "is not a list of percentages"),
    Case("canary-rollback-automated", "stepped-by-hand",
         setting("route", ("metadata", "annotations", "ml-serving/canary-rollback"), "manual"),
         "is stepped and rolled back by hand"),
    Case("canary-rollback-automated", "skips-analysis",
         setting("flagger_canary", "spec.skipAnalysis", True), "skips its analysis"),
    Case("canary-rollback-automated", "no-threshold",
         setting("flagger_canary", "spec.analysis.threshold"), "needs a number of failed checks"),
    Case("canary-rollback-automated", "no-metrics",
         setting("flagger_canary", "spec.analysis.metrics", []), "no metric checks"),
    Case("sagemaker-auto-rollback-alarms", "no-alarms",
         setting("sm_endpoint", "deploymentConfig.autoRollbackConfiguration.alarms", []), "names no CloudWatch alarms"),
    Case("eks-secrets-encryption", "none",
         setting("cluster", "encryptionConfig"), "does not cover `secrets`"),
    Case("eks-secrets-encryption", "no-key",
         setting("cluster", "encryptionConfig.provider", {}), "keyArn is empty"),
    Case("eks-endpoint-restricted", "open-cidr",
         setting("cluster", "vpcConfig.publicAccessCidrs", ["10.0.0.0/8", "0.0.0.0/0"]),
         "admits 3,702,258,688 publicly routable addresses"),
    Case("eks-endpoint-restricted", "split-halves",
         setting("cluster", "vpcConfig.publicAccessCidrs", ["0.0.0.0/1", "128.0.0.0/1"]),
         "admits 3,702,258,688 publicly routable addresses through 0.0.0.0/1, 128.0.0.0/1; at most 1,024 here"),
    Case("eks-endpoint-restricted", "sixteen-slash-4s",
         setting("cluster", "vpcConfig.publicAccessCidrs", [f"{16 * i}.0.0.0/4" for i in range(16)]),
         "admits 3,702,258,688 publicly routable addresses"),
    Case("eks-endpoint-restricted", "just-over",
         setting("cluster", "vpcConfig.publicAccessCidrs", ["198.51.100.0/24", "8.8.0.0/22", "9.9.9.9/32"]),
         "admits 1,025 publicly routable addresses"),
    Case("eks-endpoint-restricted", "garbled",
         setting("cluster", "vpcConfig.publicAccessCidrs", ["10.0.0.0/33"]), "'10.0.0.0/33' is not a CIDR range"),
    Case("eks-endpoint-restricted", "aws-defaults",
         setting("cluster", "vpcConfig", {"subnetIds": ["subnet-private"]}), "0.0.0.0/0 (the AWS default when none are listed)"),
    Case("eks-endpoint-restricted", "no-private-endpoint",
         setting("cluster", "vpcConfig.endpointPrivateAccess", False), "endpointPrivateAccess is off"),
    Case("node-groups-in-private-subnets", "elb-subnet",
         lambda w: w["gpu_nodes"].depends_on.append(w["public_subnet"].urn), "public-a, which is tagged kubernetes.io/role/elb"),
    Case("node-groups-in-private-subnets", "public-ips",
         lambda w: (setting("private_subnet", "mapPublicIpOnLaunch", True)(w)), "private-a, which maps public IPs"),
    Case("node-groups-in-private-subnets", "igw-route", _route_through_igw, "sneaky, which routes 0.0.0.0/0 to an internet gateway"),
    Case("gpu-node-groups-tainted", "untainted",
         setting("gpu_nodes", "taints", []), "without a nvidia.com/gpu NoSchedule taint"),
    Case("gpu-node-groups-tainted", "gpu-family-on-standard-ami",
         lambda w: (setting("system_nodes", "instanceTypes", ["g5.2xlarge"])(w)), "without a nvidia.com/gpu NoSchedule taint"),
    Case("gpu-node-groups-bounded", "too-many",
         setting("gpu_nodes", "scalingConfig.maxSize", 40), "maxSize is 40 GPU nodes; the limit for this environment is 16"),
    Case("autoscaled-sizes-ignored", "not-ignored",
         lambda w: w["gpu_nodes"].ignore_changes.clear(), "not in ignore_changes"),
    Case("s3-buckets-kms-encrypted", "sse-s3",
         setting("encryption", "rules.0.applyServerSideEncryptionByDefault", {"sseAlgorithm": "AES256"}), "uses AES256"),
    Case("s3-buckets-kms-encrypted", "none",
         lambda w: w.pop("encryption"), "has no BucketServerSideEncryptionConfiguration"),
    Case("s3-buckets-versioned", "suspended",
         setting("versioning", "versioningConfiguration.status", "Suspended"), "has versioning Suspended"),
    Case("s3-buckets-versioned", "none", lambda w: w.pop("versioning"), "has no BucketVersioning"),
    Case("s3-buckets-not-public", "no-block", lambda w: w.pop("public_access"), "has no BucketPublicAccessBlock"),
    Case("s3-buckets-not-public", "flag-off",
         setting("public_access", "restrictPublicBuckets", False), "restrictPublicBuckets not true"),
    Case("s3-buckets-not-public", "policy-allows-anyone",
         setting("bucket_policy", "policy", json.dumps({"Statement": [
             {"Sid": "PublicRead", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
              "Resource": "arn:aws:s3:::acme-models/*"}]})), "statement PublicRead allowing anyone"),
    Case("s3-buckets-not-public", "public-acl",
         lambda w: w.__setitem__("acl", resource("aws:s3/bucketAcl:BucketAcl", "models-acl",
                                                  {"bucket": "acme-models", "acl": "public-read"})),
         "has the ACL public-read"),
    Case("ecr-scan-on-push", "off", setting("repository", "imageScanningConfiguration.scanOnPush", False), "scanOnPush is not true"),
    Case("ecr-scan-on-push", "unset", setting("repository", "imageScanningConfiguration"), "scanOnPush is not true"),
    Case("ecr-immutable-tags", "mutable", setting("repository", "imageTagMutability", "MUTABLE"), "imageTagMutability is MUTABLE"),
    Case("ecr-immutable-tags", "default", setting("repository", "imageTagMutability"), "MUTABLE (the default)"),
    Case("iam-no-wildcard-admin", "star-on-star",
         lambda w: _replace_iam(w, {"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"}),
         "statement Admin allows every action (*)"),
    Case("iam-no-wildcard-admin", "service-on-star",
         lambda w: _replace_iam(w, {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["*"]}), "allows s3:* on *"),
    Case("iam-no-wildcard-admin", "not-action",
         lambda w: _replace_iam(w, {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), "NotAction"),
    Case("iam-no-wildcard-admin", "admin-attachment",
         setting("attachment", "policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"), "attaches AdministratorAccess"),
    Case("iam-no-wildcard-admin", "inline-on-role",
         setting("role", "inlinePolicies", [{"name": "everything", "policy": json.dumps(
             {"Statement": [{"Effect": "Allow", "Action": "*:*", "Resource": "*"}]})}]),
         "inlinePolicies[0] (everything) statement #0 allows every action"),
    Case("required-cost-tags", "no-default-tags", _no_default_tags, "missing cost tags team, cost-center"),
    Case("required-cost-tags", "default-provider",
         lambda w: setattr(w["nat"], "provider", ""), "missing cost tags team, cost-center"),
    Case("required-cost-tags", "empty-value",
         setting("repository", "tags", {"cost-center": ""}), "missing cost tags cost-center"),
    Case("required-cost-tags", "untagged-instances",
         setting("launch_template", "tagSpecifications", [{"resourceType": "volume", "tags": TAGS}]),
         "instances launched from this template miss cost tags team, cost-center"),
    Case("stateful-resources-protected", "key", lambda w: setattr(w["key"], "protect", False), "is not protected"),
    Case("stateful-resources-protected", "bucket", lambda w: setattr(w["bucket"], "protect", False), "is not protected"),
    Case("eks-control-plane-audit-logs", "no-audit",
         setting("cluster", "enabledClusterLogTypes", ["api"]), "control-plane logs audit are off (enabled: api)"),
    Case("eks-control-plane-audit-logs", "none",
         setting("cluster", "enabledClusterLogTypes"), "(enabled: none)"),
    Case("eks-admin-and-deployer-access", "creator-is-admin",
         setting("cluster", "accessConfig.bootstrapClusterCreatorAdminPermissions", True),
         "set cluster.deployer_role_arn"),
    Case("eks-admin-and-deployer-access", "deployer-only",
         lambda w: w.pop("admins_access"), "0 cluster-admin role(s) besides the deployer; at least 1 here"),
    Case("gpu-spot-for-online-serving", "spot", setting("gpu_nodes", "capacityType", "SPOT"), "GPU node group on Spot"),
    Case("images-from-own-account", "other-account",
         setting("runtime", "spec.containers.0.image", f"999988887777.dkr.ecr.us-east-1.amazonaws.com/vllm@{DIGEST}"),
         "registry of account 999988887777, not this stack's account 123456789012"),
    Case("images-from-own-account", "aws-dlc-on-sagemaker",
         setting("sm_model", "primaryContainer.image", f"763104351884.dkr.ecr.us-east-1.amazonaws.com/vllm@{DIGEST}"),
         "account 763104351884"),
    Case("model-domain-private", "company-apex", setting("zone", "name", "acme.com"),
         "private zone acme.com is not under a reserved private suffix"),
    Case("model-domain-private", "lookalike-suffix", setting("zone", "name", "models.internal.acme.com"),
         "models.internal.acme.com is not under"),
    Case("monthly-cost-within-budget", "idle",
         # Above prod's raised ceiling too (test_analyzer_parity breaks prod with this case).
         setting("review", "cost.idle.monthlyUsd", 258672.4),
         "the idle estimate (every model at its floor) is $258,672/month, over this environment's maxIdleMonthlyUsd of "
         "$25,000. Largest items: GPU pool l4 (g6.xlarge): 2 node = $1,400; EKS control plane"),
    Case("monthly-cost-within-budget", "busy", setting("review", "cost.busy.monthlyUsd", 60000.01),
         "the busy estimate (every model at max replicas) is $60,000/month"),
    Case("warm-capacity-bounded", "running-pool",
         setting("review", "warmNodes", [{"pool": "l4", "instanceType": "g6.xlarge", "instances": 3, "state": "running",
                                          "runningMonthlyUsd": 1763.5}]),
         "3 warm-pool GPU instances are kept running (l4: 3 x g6.xlarge; $1,764/month"),
    Case("warm-capacity-bounded", "many-stopped",
         setting("review", "warmNodes", [{"pool": "l4", "instanceType": "g6.xlarge", "instances": 5, "state": "stopped",
                                          "runningMonthlyUsd": 0}]), "5 warm-pool GPU instances across pools; at most 4"),
    Case("warm-capacity-bounded", "model-spares", setting("review", "models.0.warmReplicas", 3),
         "model llama keeps 3 spare replicas warm; at most 2"),
    Case("addon-versions-pinned", "downgrade", setting("review", "addons.0.requested", "v0.11.0"),
         "add-on kserve (kserve-resources) is set to v0.11.0, not the pinned v0.20.0"),
    Case("model-weights-pinned", "hub-unpinned", setting("review", "models.0.sources.0", "hf://meta-llama/Llama-3.1-8B"),
         "downloads hf://meta-llama/Llama-3.1-8B from the Hugging Face Hub at every start with no revision"),
    Case("model-weights-pinned", "hub-branch", setting("review", "models.0.sources.1", "hf://meta-llama/Llama-3.1-8B@main"),
         "revision 'main', which is not a full commit sha"),
    Case("model-weights-pinned", "other-bucket", setting("review", "models.0.sources.0", "s3://someone-else/llama/"),
         "outside the stack's model bucket acme-models"),
    Case("slo-within-sane-bounds", "ttft-2-minutes", setting("review", "models.0.slo.ttftP99Ms", 120000),
         "model llama declares slo.ttft_p99_ms = 120000, looser than this environment's maxTtftP99Ms of 10000"),
    Case("slo-within-sane-bounds", "half-errors", setting("review", "models.0.slo.errorRate", 0.5),
         "slo.error_rate = 0.5"),
    Case("models-redundant-replicas", "single", setting("review", "models.0.minReplicas", 1),
         "model llama keeps 1 replica(s); at least 2 here"),
    Case("vllm-memory-settings-bounded", "utilization", setting("review", "models.0.vllm.gpuMemoryUtilization", 0.98),
         "vllm.gpu_memory_utilization 0.98 leaves too little GPU memory"),
    Case("vllm-memory-settings-bounded", "seqs",
         lambda w: (setting("review", "models.0.vllm.maxNumSeqs", 1024)(w),
                    setting("review", "models.0.vllm.kvCacheTokens", 10_000_000)(w)),
         "vllm.max_num_seqs 1024 is above 512"),
    Case("vllm-memory-settings-bounded", "kv-starved", setting("review", "models.0.vllm.maxNumSeqs", 256),
         "the KV cache holds 60,000 tokens, 234 per sequence at max_num_seqs 256"),
    Case("data-capture-bounded", "everything",
         setting("review", "sagemaker", {"dataCapturePercent": 100}), "sagemaker.data_capture_percent is 100"),
    Case("canary-step-growth-bounded", "ten-then-all", setting("review", "models.0.canary.steps", [10, 100]),
         "the canary jumps from 10% to 100% of requests (steps [10, 100])"),
    Case("canary-step-growth-bounded", "late-jump", setting("review", "models.0.canary.steps", [10, 20, 40, 100]),
         "jumps from 40% to 100%"),
    Case("canary-one-step-at-a-time", "brand-new-at-100", setting("review", "models.0.canary.trafficPercent", 100),
         "the candidate v2 is brand-new (no previous_percent) but takes 100% of requests at once"),
    Case("canary-one-step-at-a-time", "skips",
         lambda w: (setting("review", "models.0.canary.trafficPercent", 100)(w),
                    setting("review", "models.0.canary.previousPercent", 25)(w)),
         "moves from 25% to 100%, skipping steps of [10, 25, 50, 100]; move one step per change: traffic_percent: 50"),
    Case("canary-rollback-on-breach", "off", setting("review", "models.0.canary.rollbackOnBreach", False),
         "canary.rollback_on_breach is off"),
    Case("canary-gates-within-slo", "loose-errors", setting("review", "models.0.canary.gates.0.maxValue", 0.5),
         "canary.gates[0] (error_rate) allows the candidate 0.5, looser than the stable objective slo.error_rate = 0.01"),
    Case("canary-gates-within-slo", "loose-ratio", setting("review", "models.0.canary.gates.0.maxRatioToStable", 5),
         "5x worse than stable; at most 1.5x here"),
    Case("canary-gates-within-slo", "loose-shadow-gate",
         setting("review", "models.0.shadowGates", [{"metric": "ttft_p99", "maxValue": 5000, "windowS": 300}]),
         "shadow.gates[0] (ttft_p99) allows the candidate 5000, looser than the stable objective slo.ttft_p99_ms"),
    Case("canary-gates-within-slo", "window-beyond-bake", setting("review", "models.0.canary.gates.1.windowS", 1800),
         "measures over 1800 s, longer than each step's bake (step_interval_s 600 s)"),
]


def test_the_compliant_stack_passes_every_policy():
    assert violations(world()) == []


def test_every_policy_has_a_failing_case():
    assert {case.policy for case in CASES} == {policy.name for policy in POLICIES}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.policy}:{c.id}" for c in CASES])
def test_a_bad_input_fails_exactly_its_policy(case):
    broken = copy_of(world())
    case.breaks(broken)
    found = violations(broken)
    assert {v.policy for v in found} == {case.policy}, [f"{v.policy}: {v.message}" for v in found]
    messages = [v.message for v in found]
    assert any(case.says in m for m in messages), messages
    assert all(v.enforcement == "mandatory" for v in found)


# --- what each policy accepts -----------------------------------------------------------


def test_shared_memory_and_readiness_may_come_from_the_serving_runtime():
    w = world()
    model = w["isvc"].inputs["spec"]["predictor"]["model"]
    probe = model.pop("readinessProbe")
    mounts = model.pop("volumeMounts")
    runtime = w["runtime"].inputs["spec"]
    runtime["containers"][0] |= {"readinessProbe": probe, "volumeMounts": mounts}
    runtime["volumes"] = w["isvc"].inputs["spec"]["predictor"].pop("volumes")
    assert failing(w) == set()


def test_a_runtime_is_found_by_model_format_when_none_is_named():
    w = world()
    model = w["isvc"].inputs["spec"]["predictor"]["model"]
    model.pop("runtime")
    model.pop("readinessProbe")
    w["runtime"].inputs["spec"]["supportedModelFormats"][0]["autoSelect"] = True
    w["runtime"].inputs["spec"]["containers"][0]["readinessProbe"] = {"httpGet": {"path": "/health", "port": 8080}}
    assert failing(w) == set()


def test_servers_without_gpus_need_no_shared_memory():
    w = world()
    predictor = w["isvc"].inputs["spec"]["predictor"]
    for kind in ("requests", "limits"):
        predictor["model"]["resources"][kind].pop("nvidia.com/gpu")
    predictor["model"]["volumeMounts"] = []
    assert failing(w) == set()


def test_a_fixed_size_kserve_hpa_service_does_not_autoscale_at_all():
    w = world()
    isvc = w["isvc"].inputs
    isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "hpa"
    isvc["spec"]["predictor"]["maxReplicas"] = 1
    assert failing(w) == set()


def test_image_allowances_are_configurable():
    w = world()
    w["runtime"].inputs["spec"]["containers"][0]["image"] = f"registry.k8s.io/pause:3.10@{DIGEST}"
    assert failing(w) == {"images-from-private-ecr"}
    allowed = {**STRICT, "images-from-private-ecr": {"allowedPrefixes": ["registry.k8s.io/pause:"]}}
    assert failing(w, allowed) == set()
    other_account = {**STRICT, "images-from-private-ecr": {"allowedAccountIds": ["210987654321"]}}
    found = violations(world(), other_account)
    assert {v.policy for v in found} == {"images-from-private-ecr"}
    assert "registry of account 123456789012, which is not one of 210987654321" in found[0].message


def test_settings_joined_by_bucket_name_count_without_a_dependency():
    w = world()
    for key in ("versioning", "encryption", "public_access", "bucket_policy"):
        w[key].depends_on.clear()
    assert failing(w) == set()
    w["versioning"].inputs["bucket"] = "someone-elses-bucket"
    assert failing(w) == {"s3-buckets-versioned"}


def test_service_wide_actions_on_named_resources_are_allowed():
    w = world()
    _replace_iam(w, {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-models/*"})
    assert failing(w) == set()


def test_tags_on_the_resource_satisfy_cost_tags_without_provider_defaults():
    w = world()
    _no_default_tags(w)
    for r in w.values():
        if r.type in COST_BEARING:
            r.inputs["tags"] = {"team": "ml-platform", "cost-center": "cc-4410", "Name": r.name}
    assert failing(w) == set()


def test_node_groups_on_subnets_outside_the_stack_are_not_judged():
    w = world()
    w["gpu_nodes"].depends_on = [w["cluster"].urn]
    assert failing(w) == set()


def test_config_bounds_move_with_the_environment():
    w = world()
    w["gpu_nodes"].inputs["scalingConfig"]["maxSize"] = 12
    w["isvc"].inputs["spec"]["predictor"]["maxReplicas"] = 6
    assert failing(w) == set()
    staging = {**STRICT, "max-replicas-bounded": {"maxReplicas": 4}, "gpu-node-groups-bounded": {"maxGpuNodes": 8}}
    assert failing(w, staging) == {"max-replicas-bounded", "gpu-node-groups-bounded"}


# --- what the reviewer's policies accept --------------------------------------------------


def _review(w: World) -> dict[str, Any]:
    return w["review"].inputs


def test_public_exposure_is_counted_at_its_exact_limit():
    w = world()
    # Four public /24s (1,024 addresses) plus documentation and private ranges, which count nothing.
    w["cluster"].inputs["vpcConfig"]["publicAccessCidrs"] = [
        "8.8.0.0/24", "8.8.1.0/24", "8.8.2.0/23", "8.8.0.0/25", "10.0.0.0/8", "192.168.0.0/16", "203.0.113.0/24"]
    assert failing(w) == set()
    w["cluster"].inputs["vpcConfig"]["endpointPublicAccess"] = False
    w["cluster"].inputs["vpcConfig"]["publicAccessCidrs"] = ["0.0.0.0/1", "128.0.0.0/1"]
    assert failing(w) == set()  # the public endpoint is off: the ranges admit nobody


def test_budgets_and_warm_capacity_pass_at_their_ceilings():
    w = world()
    review = _review(w)
    review["cost"]["idle"]["monthlyUsd"] = 25000
    review["cost"]["busy"]["monthlyUsd"] = 60000
    review["warmNodes"] = [{"pool": "l4", "instanceType": "g6.xlarge", "instances": 2, "state": "running",
                            "runningMonthlyUsd": 1175.7},
                           {"pool": "l40s", "instanceType": "g6e.xlarge", "instances": 2, "state": "stopped",
                            "runningMonthlyUsd": 0}]
    review["models"][0]["warmReplicas"] = 2
    assert failing(w) == set()
    assert failing(w, {**STRICT, "monthly-cost-within-budget": {"maxIdleMonthlyUsd": 2500}}) == {"monthly-cost-within-budget"}


def test_allow_lists_carry_a_reason():
    w = world()
    _review(w)["addons"][0]["requested"] = "v0.19.2"
    w["zone"].inputs["name"] = "models.corp.acme.com"
    w["runtime"].inputs["spec"]["containers"][0]["image"] = f"210987654321.dkr.ecr.us-east-1.amazonaws.com/vllm@{DIGEST}"
    assert failing(w) == {"addon-versions-pinned", "model-domain-private", "images-from-own-account"}
    allowed = {
        **STRICT,
        "addon-versions-pinned": {"allowedOverrides": {"kserve": {"version": "v0.19.2", "reason": "v0.20.0 breaks X"}}},
        "model-domain-private": {"allowedDomains": ["models.corp.acme.com"]},
        "images-from-own-account": {"allowedAccounts": {"210987654321": "the shared images account"}},
    }
    assert failing(w, allowed) == set()
    # An allow-listed version is that version only.
    _review(w)["addons"][0]["requested"] = "v0.11.0"
    assert failing(w, allowed) == {"addon-versions-pinned"}


def test_declared_acceptances_satisfy_the_judgement_calls():
    w = world()
    model = _review(w)["models"][0]
    model["minReplicas"] = 1
    model["singleReplicaReason"] = "batch only; clients retry"
    model["sources"] = ["hf://meta-llama/Llama-3.1-8B@" + "0e9e39f249a16976918f6564b8830bc894c89659"]
    _review(w)["sagemaker"] = {"dataCapturePercent": 100, "dataCaptureApproval": "DPIA-2026-114 (legal)"}
    for name in ("home.arpa", "models.test", "x.internal"):
        w["zone"].inputs["name"] = name
        assert failing(w) == set(), name


def test_a_canary_may_hold_roll_back_or_move_one_step():
    w = world()
    canary = _review(w)["models"][0]["canary"]
    for previous, now in ((10, 25), (25, 50), (50, 100), (50, 50), (100, 0), (50, 10)):
        canary["previousPercent"], canary["trafficPercent"] = previous, now
        assert failing(w) == set(), (previous, now)
    canary["previousPercent"], canary["trafficPercent"] = 0, 25
    assert failing(w) == {"canary-one-step-at-a-time"}


def test_sagemaker_two_step_canaries_shift_under_rollback_alarms():
    w = world()
    _review(w)["target"] = "sagemaker"
    _review(w)["models"][0]["canary"]["steps"] = [10, 100]
    assert failing(w) == set()
    _review(w)["target"] = "eks"
    assert failing(w) == {"canary-step-growth-bounded"}
