"""A small stack that passes every policy, built by hand in the shapes the engine records.

Each policy test breaks one thing in a fresh copy and checks that exactly that policy fails.
Shapes follow pulumi-aws 7 (camelCase inputs, single blocks as objects) and the real KServe
v0.20 / KEDA 2.20 CRDs.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from components.preview.engine import Resource
from components.preview.policy import Violation, evaluate
from policies.ml_serving_policies import PACK_ENFORCEMENT, POLICIES
from policies.ml_serving_policies.config import reconcile

STACK = "urn:pulumi:test::ml-serving::pulumi:pulumi:Stack::ml-serving-test"
COMPONENT = "urn:pulumi:test::ml-serving::ml-serving:test:Fixture::fixture"
AWS_PROVIDER_URN = "urn:pulumi:test::ml-serving::pulumi:pulumi:Stack$pulumi:providers:aws::aws"
K8S_PROVIDER_URN = "urn:pulumi:test::ml-serving::pulumi:pulumi:Stack$pulumi:providers:kubernetes::eks"
ACCOUNT = "123456789012"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0b1c2d3e"
ECR = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
DIGEST = "sha256:" + "ab" * 32
VLLM_IMAGE = f"{ECR}/ml-serving-vllm@{DIGEST}"
PAUSE_IMAGE = f"{ECR}/mirror/pause@{DIGEST}"
TAGS = {"team": "ml-platform", "cost-center": "cc-4410"}
# Every policy at full strength: what prod enforces.
STRICT: dict[str, Any] = {"all": "mandatory"}


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:test::ml-serving::ml-serving:test:Fixture${typ}::{name}"


def resource(typ: str, name: str, inputs: dict[str, Any], *, provider: str | None = None, protect: bool = False,
             ignore_changes: tuple[str, ...] = (), depends_on: tuple[str, ...] = ()) -> Resource:
    if provider is None:
        provider = f"{K8S_PROVIDER_URN}::eks-id" if typ.startswith("kubernetes:") else f"{AWS_PROVIDER_URN}::aws-id"
    return Resource(
        urn=urn(typ, name), type=typ, name=name, parent=COMPONENT, custom=True, provider=provider,
        protect=protect, retain_on_delete=protect, ignore_changes=list(ignore_changes),
        depends_on=list(depends_on), aliases=0, inputs=inputs,
    )


def _provider(typ: str, name: str, urn_: str, inputs: dict[str, Any]) -> Resource:
    return Resource(urn=urn_, type=typ, name=name, parent=STACK, custom=True, provider="", protect=False,
                    retain_on_delete=False, ignore_changes=[], depends_on=[], aliases=0, inputs=inputs)


SECURE = {
    "runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
}


def _iam(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def world() -> dict[str, Resource]:
    """Fresh, compliant resources keyed by a short name."""
    r: dict[str, Resource] = {}
    r["aws"] = _provider("pulumi:providers:aws", "aws", AWS_PROVIDER_URN, {
        # Provider config reaches the engine as JSON text for structured values.
        "region": "us-east-1", "defaultTags": json.dumps({"tags": TAGS}),
    })
    r["k8s"] = _provider("pulumi:providers:kubernetes", "eks", K8S_PROVIDER_URN, {"kubeconfig": "[secret]"})
    r["key"] = resource("aws:kms/key:Key", "key", {"enableKeyRotation": True}, protect=True)

    bucket = resource("aws:s3/bucket:Bucket", "models", {"bucket": "acme-models"}, protect=True)
    r["bucket"] = bucket
    r["versioning"] = resource("aws:s3/bucketVersioning:BucketVersioning", "models-versioning", {
        "bucket": "acme-models", "versioningConfiguration": {"status": "Enabled"},
    }, depends_on=(bucket.urn,))
    r["encryption"] = resource(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "models-encryption",
        {"bucket": "acme-models", "rules": [{"applyServerSideEncryptionByDefault": {
            "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}, "bucketKeyEnabled": True}]},
        depends_on=(bucket.urn,),
    )
    r["public_access"] = resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "models-public-access", {
        "bucket": "acme-models", "blockPublicAcls": True, "blockPublicPolicy": True,
        "ignorePublicAcls": True, "restrictPublicBuckets": True,
    }, depends_on=(bucket.urn,))
    r["bucket_policy"] = resource("aws:s3/bucketPolicy:BucketPolicy", "models-policy", {
        "bucket": "acme-models",
        "policy": _iam({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::acme-models", "arn:aws:s3:::acme-models/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
    }, depends_on=(bucket.urn,))

    r["repository"] = resource("aws:ecr/repository:Repository", "vllm", {
        "name": "ml-serving-vllm", "imageTagMutability": "IMMUTABLE",
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}],
    }, protect=True)

    r["role"] = resource("aws:iam/role:Role", "reader", {"assumeRolePolicy": _iam(
        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]})})
    r["role_policy"] = resource("aws:iam/rolePolicy:RolePolicy", "reader", {"role": "reader", "policy": _iam(
        {"Sid": "ReadModels", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::acme-models/*"},
        {"Sid": "Describe", "Effect": "Allow", "Action": ["ec2:DescribeInstanceTypes"], "Resource": "*"})})
    r["attachment"] = resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "reader-ecr", {
        "role": "reader", "policyArn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"})

    r["igw"] = resource("aws:ec2/internetGateway:InternetGateway", "igw", {"vpcId": "vpc-1"})
    r["nat"] = resource("aws:ec2/natGateway:NatGateway", "nat", {"subnetId": "subnet-public"})
    r["public_subnet"] = resource("aws:ec2/subnet:Subnet", "public-a", {
        "cidrBlock": "10.0.224.0/22", "mapPublicIpOnLaunch": False, "tags": {"kubernetes.io/role/elb": "1"}})
    r["private_subnet"] = resource("aws:ec2/subnet:Subnet", "private-a", {
        "cidrBlock": "10.0.0.0/19", "tags": {"kubernetes.io/role/internal-elb": "1"}})
    r["public_routes"] = resource("aws:ec2/routeTable:RouteTable", "public", {
        "routes": [{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-1"}]}, depends_on=(r["igw"].urn,))
    r["private_routes"] = resource("aws:ec2/routeTable:RouteTable", "private-a", {
        "routes": [{"cidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1"}]}, depends_on=(r["nat"].urn,))
    r["public_association"] = resource("aws:ec2/routeTableAssociation:RouteTableAssociation", "public-a", {
        "subnetId": "subnet-public", "routeTableId": "rtb-public"},
        depends_on=(r["public_subnet"].urn, r["public_routes"].urn))
    r["private_association"] = resource("aws:ec2/routeTableAssociation:RouteTableAssociation", "private-a", {
        "subnetId": "subnet-private", "routeTableId": "rtb-private"},
        depends_on=(r["private_subnet"].urn, r["private_routes"].urn))

    r["cluster"] = resource("aws:eks/cluster:Cluster", "eks", {
        "name": "ml-serving-test", "version": "1.35",
        "encryptionConfig": {"provider": {"keyArn": KEY_ARN}, "resources": ["secrets"]},
        "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": True,
                      "publicAccessCidrs": ["203.0.113.0/24"], "subnetIds": ["subnet-private"]},
        "accessConfig": {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False},
        "enabledClusterLogTypes": ["api", "audit", "authenticator"],
    }, protect=True, depends_on=(r["private_subnet"].urn, r["key"].urn))
    for role in ("deployer", "admins"):
        r[f"{role}_access"] = resource("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", f"eks-{role}", {
            "clusterName": "ml-serving-test", "principalArn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "accessScope": {"type": "cluster"}})
    r["zone"] = resource("aws:route53/zone:Zone", "models", {
        "name": "models.internal", "vpcs": [{"vpcId": "vpc-1", "vpcRegion": "us-east-1"}], "forceDestroy": False})
    r["launch_template"] = resource("aws:ec2/launchTemplate:LaunchTemplate", "gpu-l4-template", {
        "tagSpecifications": [{"resourceType": kind, "tags": TAGS} for kind in ("instance", "volume")]})
    r["gpu_nodes"] = resource("aws:eks/nodeGroup:NodeGroup", "gpu-l4", {
        "clusterName": "ml-serving-test", "amiType": "AL2023_x86_64_NVIDIA", "instanceTypes": ["g6.xlarge"],
        "capacityType": "ON_DEMAND", "subnetIds": ["subnet-private"],
        "scalingConfig": {"minSize": 0, "maxSize": 4, "desiredSize": 0},
        "taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}],
    }, ignore_changes=("scalingConfig.desiredSize",), depends_on=(r["private_subnet"].urn, r["cluster"].urn))
    r["system_nodes"] = resource("aws:eks/nodeGroup:NodeGroup", "system", {
        "clusterName": "ml-serving-test", "amiType": "AL2023_x86_64_STANDARD", "instanceTypes": ["m6i.large"],
        "subnetIds": ["subnet-private"], "scalingConfig": {"minSize": 2, "maxSize": 2, "desiredSize": 2}, "taints": [],
    }, depends_on=(r["private_subnet"].urn, r["cluster"].urn))

    r["runtime"] = resource("kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime", "vllm-runtime", {
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "ClusterServingRuntime",
        "metadata": {"name": "ml-serving-vllm"},
        "spec": {
            "supportedModelFormats": [{"name": "vllm", "version": "1", "autoSelect": False}],
            "containers": [{"name": "kserve-container", "image": VLLM_IMAGE, "args": ["--port=8080"],
                            "securityContext": SECURE}],
        },
    })
    r["isvc"] = resource("kubernetes:serving.kserve.io/v1beta1:InferenceService", "llama-v1", {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "llama-v1", "namespace": "models", "annotations": {
            "serving.kserve.io/deploymentMode": "Standard", "serving.kserve.io/autoscalerClass": "external"}},
        "spec": {"predictor": {
            "minReplicas": 1, "maxReplicas": 4,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000},
            "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}],
            "model": {
                "modelFormat": {"name": "vllm", "version": "1"}, "runtime": "ml-serving-vllm",
                "args": ["--model=s3://acme-models/llama/v1/"],
                "resources": {"requests": {"cpu": "3", "memory": "12Gi", "nvidia.com/gpu": "1"},
                              "limits": {"memory": "12Gi", "nvidia.com/gpu": "1"}},
                "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
                "readinessProbe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 10},
            },
        }},
    })
    r["scaled_object"] = resource("kubernetes:keda.sh/v1alpha1:ScaledObject", "llama-v1", {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "llama-v1", "namespace": "models"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-v1-predictor"},
            "minReplicaCount": 1, "maxReplicaCount": 4,
            "triggers": [{"type": "prometheus", "metricType": "AverageValue", "metadata": {
                "serverAddress": "http://prometheus-operated.monitoring.svc:9090",
                "query": 'sum(vllm:num_requests_waiting{inferenceservice="llama-v1"})', "threshold": "4"}}],
        },
    })
    r["warm_pool"] = resource("kubernetes:apps/v1:Deployment", "llama-warm-pool", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "llama-warm-pool", "namespace": "models"},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{
            "name": "hold-gpu", "image": PAUSE_IMAGE, "securityContext": {**SECURE, "runAsUser": 65532},
            "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"nvidia.com/gpu": "1"}}}]}}},
    })
    r["route"] = resource("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "llama", {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "llama", "namespace": "models", "annotations": {"ml-serving/canary-steps": "10,50,100"}},
        "spec": {"rules": [{"backendRefs": [{"name": "llama-v1-predictor", "port": 80, "weight": 90},
                                            {"name": "llama-v2-predictor", "port": 80, "weight": 10}]}]},
    })
    r["flagger_canary"] = resource("kubernetes:flagger.app/v1beta1:Canary", "llama-8b", {
        "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
        "metadata": {"name": "llama-8b", "namespace": "models"},
        "spec": {"targetRef": {"apiVersion": "v1", "kind": "Service", "name": "llama-8b"},
                 "analysis": {"interval": "600s", "threshold": 1, "stepWeights": [10, 50, 100],
                              "metrics": [{"name": "error-rate", "templateRef": {"name": "llama-8b-error-rate"},
                                           "thresholdRange": {"max": 0.02}}]}},
    })
    r["release"] = resource("kubernetes:helm.sh/v3:Release", "keda", {
        "chart": "keda", "version": "2.20.2", "values": {"image": {"keda": {"tag": "latest"}}}})

    r["sm_model"] = resource("aws:sagemaker/model:Model", "llama", {
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/sagemaker",
        "primaryContainer": {"image": VLLM_IMAGE, "modelDataUrl": "s3://acme-models/llama/v1/"}})
    r["sm_config"] = resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "llama", {
        "productionVariants": [{"variantName": "primary", "modelName": "llama", "instanceType": "ml.g6.xlarge",
                                "initialInstanceCount": 2}]})
    r["sm_endpoint"] = resource("aws:sagemaker/endpoint:Endpoint", "llama", {
        "endpointConfigName": "llama",
        "deploymentConfig": {
            "blueGreenUpdatePolicy": {"trafficRoutingConfiguration": {
                "type": "CANARY", "waitIntervalInSeconds": 600, "canarySize": {"type": "CAPACITY_PERCENT", "value": 10}}},
            "autoRollbackConfiguration": {"alarms": [{"alarmName": "llama-errors"}]},
        },
    })
    r["sm_target"] = resource("aws:appautoscaling/target:Target", "llama", {
        "serviceNamespace": "sagemaker", "resourceId": "endpoint/llama/variant/primary",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount", "minCapacity": 1, "maxCapacity": 4})
    r["sm_scaling"] = resource("aws:appautoscaling/policy:Policy", "llama", {
        "serviceNamespace": "sagemaker", "resourceId": "endpoint/llama/variant/primary",
        "scalableDimension": "sagemaker:variant:DesiredInstanceCount", "policyType": "TargetTrackingScaling",
        "targetTrackingScalingPolicyConfiguration": {"targetValue": 4, "predefinedMetricSpecification": {
            "predefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}}})
    r["review"] = Resource(
        urn=urn(REVIEW_TYPE, "review"), type=REVIEW_TYPE, name="review", parent=STACK, custom=False, provider="",
        protect=False, retain_on_delete=False, ignore_changes=[], depends_on=[], aliases=0, inputs=review_facts(),
    )
    return r


REVIEW_TYPE = "ml-serving:review:StackReview"


def review_facts() -> dict[str, Any]:
    """A compliant StackReview, in the shape components/compilers/review.py writes."""
    def estimate(usd: float) -> dict[str, Any]:
        return {"monthlyUsd": usd, "unpriced": [], "items": [
            {"item": "GPU pool l4 (g6.xlarge)", "quantity": 2, "unit": "node", "monthlyUsd": usd - 100},
            {"item": "EKS control plane", "quantity": 1, "unit": "cluster", "monthlyUsd": 73},
            {"item": "KMS key", "quantity": 1, "unit": "key", "monthlyUsd": 27}]}
    return {
        "environment": "prod", "target": "eks", "accountId": ACCOUNT, "modelBucket": "acme-models",
        "cost": {"idle": estimate(1500), "busy": estimate(4000)},
        "addons": [{"addon": "kserve", "chart": "kserve-resources", "pinned": "v0.20.0", "requested": "v0.20.0"}],
        "warmNodes": [{"pool": "l4", "instanceType": "g6.xlarge", "instances": 1, "state": "stopped",
                       "runningMonthlyUsd": 0}],
        "models": [{
            "name": "llama", "runtime": "vllm", "instanceType": "g6.xlarge",
            "sources": ["s3://acme-models/llama/v1/", "s3://acme-models/llama/v2/"],
            "minReplicas": 2, "maxReplicas": 4, "warmReplicas": 1, "scaleToZero": False,
            "slo": {"ttftP99Ms": 1000, "tpotP99Ms": 50, "errorRate": 0.01},
            "vllm": {"gpuMemoryUtilization": 0.9, "maxNumSeqs": 32, "maxModelLen": 8192, "kvCacheTokens": 60000},
            "canary": {"version": "v2", "steps": [10, 25, 50, 100], "trafficPercent": 10, "rollbackOnBreach": True,
                       "stepIntervalS": 600,
                       "gates": [{"metric": "error_rate", "maxValue": 0.01, "maxRatioToStable": 1.5, "windowS": 300},
                                 {"metric": "ttft_p99", "maxValue": 1000, "windowS": 300}]},
        }],
    }


def violations(resources: dict[str, Resource] | list[Resource], config: dict[str, Any] | None = None) -> list[Violation]:
    settings = reconcile(POLICIES, PACK_ENFORCEMENT, config if config is not None else STRICT, "test config")
    found, not_run = evaluate(list(resources.values()) if isinstance(resources, dict) else resources, settings)
    assert not not_run, not_run
    return found


def failing(resources: dict[str, Resource] | list[Resource], config: dict[str, Any] | None = None) -> set[str]:
    return {v.policy for v in violations(resources, config)}


def copy_of(resources: dict[str, Resource]) -> dict[str, Resource]:
    return copy.deepcopy(resources)
