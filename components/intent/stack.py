"""StackSpec: everything one `stacks/Pulumi.<env>.yaml` declares, checked as a whole."""
from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from components.intent.alerting import AlertingSpec
from components.intent.aws_data import sagemaker_instance_types, unknown_region
from components.intent.base import Problems, Spec, TagKey, TagValue, duplicates, pattern_check
from components.intent.cluster import ClusterSpec
from components.intent.efa_pools import check_efa_pools
from components.intent.images import ImagesSpec
from components.intent.instances import catalog, sagemaker_instance
from components.intent.model import ModelSpec
from components.intent.network import NetworkSpec

Environment = Literal["dev", "staging", "prod"]
Target = Literal["eks", "sagemaker"]

def _real_region(region: str) -> str:
    problem = unknown_region(region)
    if problem:
        raise ValueError(problem)
    return region


AwsRegion = Annotated[
    str,
    pattern_check(r"[a-z]{2}(-gov)?-[a-z]+-\d", "expected an AWS region such as us-east-1"),
    AfterValidator(_real_region),
]
BucketName = Annotated[
    str,
    pattern_check(
        r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
        "S3 bucket names are 3-63 lowercase letters, digits and '-'",
    ),
]

REQUIRED_TAGS = ("team", "cost-center")

# Limits the SageMaker rules below rely on. WaitIntervalInSeconds: botocore's sagemaker
# service model. The update wait: terraform-provider-aws (which pulumi-aws bridges),
# internal/service/sagemaker/wait.go waitEndpointInService, waits a fixed 60 minutes for
# InService, so a deployment has to finish within it for `pulumi up` to see it through
# (SageMaker itself would allow 8 hours).
SAGEMAKER_MAX_BAKE_S = 3600
SAGEMAKER_UPDATE_WAIT_S = 3600
# Of that hour, what the new fleet may need to start: instances, image pull, weights, load.
SAGEMAKER_FLEET_START_S = 900
SAGEMAKER_IMAGE_FRAMEWORKS = {"vllm": ("djl-lmi", "vllm"), "triton": ("sagemaker-tritonserver",)}
ECR_IMAGE = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


class StorageSpec(Spec):
    """The model bucket: versioned, KMS-encrypted, never public."""

    bucket: BucketName = Field(
        description="Globally unique name of the bucket model weights are uploaded to; s3:// sources must live in it."
    )


class SageMakerSpec(Spec):
    """Endpoint settings that exist only on SageMaker."""

    data_capture_percent: int = Field(
        0, ge=0, le=100, description="Share of requests and responses captured to the model bucket (0 = off)."
    )
    data_capture_approval: str | None = Field(
        None,
        min_length=10,
        max_length=300,
        description=(
            "Who approved capturing more requests than the policy pack's ceiling, and where (e.g. a DPIA "
            "ticket): captured prompts and responses may hold personal data."
        ),
    )
    routing: Literal["least_outstanding_requests", "random"] = Field(
        "least_outstanding_requests", description="How the endpoint spreads requests over instances."
    )
    bake_s: int = Field(
        600,
        ge=300,
        le=3600,
        description=(
            "Updates without a canary in flight (a new image, a changed setting) start on one "
            "instance (all at once on a single-instance fleet) and bake this long under the rollback "
            "alarms at each step (at least one 300 s alarm window)."
        ),
    )
    termination_wait_s: int = Field(
        0,
        ge=0,
        le=3600,
        description="Seconds the old fleet stays up after an update finishes, for a fast manual rollback; "
        "it doubles the GPU bill meanwhile.",
    )
    log_retention_days: Literal[7, 14, 30, 60, 90, 180, 365] = Field(
        30, description="Days the endpoints' container logs are kept (KMS-encrypted)."
    )


class StackSpec(Spec):
    """One environment of ml-serving: where it runs, what it serves and under which policies."""

    environment: Environment = Field(description="Policies are advisory in dev and mandatory in prod.")
    target: Target = Field(description="`eks` (KServe on EKS) or `sagemaker` (SageMaker real-time endpoints).")
    region: AwsRegion = Field(description="AWS region, read from the `aws:region` key.")
    tags: dict[TagKey, TagValue] = Field(
        description="Tags on every AWS resource; must include `team` and `cost-center`.", max_length=40
    )
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="The VPC (both targets).")
    storage: StorageSpec = Field(description="The model bucket.")
    cluster: ClusterSpec | None = Field(None, description="Required for target eks, absent for sagemaker.")
    sagemaker: SageMakerSpec | None = Field(None, description="Only for target sagemaker.")
    images: ImagesSpec = Field(default_factory=ImagesSpec, description="Serving images per runtime.")
    models: list[ModelSpec] = Field(default_factory=list, max_length=200, description="The models this stack serves.")
    alerting: AlertingSpec = Field(
        default_factory=AlertingSpec, description="Receivers and routes; staging and prod must route critical alerts to one."
    )

    # Decisions that follow from the environment: the program reads them here, never derives its own.
    @property
    def protects_stateful(self) -> bool:
        """Prod's buckets, keys, clusters and repositories refuse `pulumi destroy` and replacement."""
        return self.environment == "prod"

    @property
    def interceptor_min_replicas(self) -> int:
        """The HTTP add-on's interceptor is on every scale-from-zero request path: prod keeps two."""
        return 2 if self.environment == "prod" else 1

    @property
    def sagemaker_settings(self) -> SageMakerSpec:
        """The `sagemaker` section as written, or its defaults when the section is left out."""
        return self.sagemaker or SageMakerSpec()

    @model_validator(mode="after")
    def _whole_stack_rules(self) -> StackSpec:
        problems = Problems(self)
        problems.run(self._check_tags)
        problems.run(self._check_target_sections)
        problems.run(self._check_models)
        problems.run(self._check_quality_gates)
        problems.run(self._check_alerting)
        problems.run(self._check_environment)
        problems.run(lambda p: self.target == "eks" and self.cluster is not None and self._check_eks_capacity(p))
        problems.run(lambda p: self.target == "eks" and self.cluster is not None and check_efa_pools(self, p))
        problems.run(lambda p: self.target == "sagemaker" and self._check_sagemaker(p))
        problems.raise_if_any()
        return self

    def _check_environment(self, problems: Problems) -> None:
        if self.environment in ("staging", "prod") and not self.models:
            problems.add(
                ("models",),
                f"a {self.environment} stack serves at least one model; with none, `pulumi up` would "
                "delete every model it runs (list them under ml-serving:models)",
            )
        if self.environment == "prod":
            self._check_prod(problems)

    def _check_tags(self, problems: Problems) -> None:
        missing = [t for t in REQUIRED_TAGS if t not in self.tags]
        if missing:
            problems.add(
                ("tags",),
                f"missing required cost tags: {', '.join(missing)} (every resource is tagged for cost allocation)",
            )

    def _check_target_sections(self, problems: Problems) -> None:
        if self.target == "eks":
            if self.cluster is None:
                problems.add(("cluster",), "target eks needs a `cluster` section")
            if self.sagemaker is not None:
                problems.add(("sagemaker",), "the `sagemaker` section applies only to target sagemaker")
        else:
            if self.cluster is not None:
                problems.add(("cluster",), "the `cluster` section applies only to target eks")
            if not self.models:
                problems.add(("models",), "a SageMaker stack deploys models; list at least one")
        for runtime in ("vllm", "triton"):
            if self.target == "eks" and getattr(self.images, runtime).sagemaker_image is not None:
                problems.add(
                    ("images", runtime, "sagemaker_image"),
                    "AWS SageMaker images serve SageMaker's /invocations protocol, not KServe; use build or prebuilt",
                )

    def _check_models(self, problems: Problems) -> None:
        repeated = duplicates([m.name for m in self.models])
        if repeated:
            problems.add(("models",), f"model names must be unique; repeated: {', '.join(repeated)}")
        bucket_prefix = f"s3://{self.storage.bucket}/"
        for index, model in enumerate(self.models):
            adapters = model.vllm.adapters if model.vllm is not None else []
            adapter_sources = [(("vllm", "adapters", i, "source"), a.source) for i, a in enumerate(adapters)]
            for loc, source in (
                (("source",), model.source),
                (("canary", "source"), model.canary and model.canary.source),
                *adapter_sources,
            ):
                if source and source.startswith("s3://") and not source.startswith(bucket_prefix):
                    problems.add(
                        ("models", index, *loc),
                        f"{source} is outside the model bucket {self.storage.bucket}; model roles can read "
                        "only that bucket, so upload the weights there",
                        source,
                    )

    def _check_quality_gates(self, problems: Problems) -> None:
        """A quality gate's expression is PromQL on EKS (naming the candidate) and a CloudWatch
        Metrics Insights query on SageMaker."""
        for index, model in enumerate(self.models):
            blocks = [("canary", model.canary.gates if model.canary else [])]
            blocks += [("experiment", model.experiment.gates if model.experiment else [])]
            blocks += [("shadow", model.shadow.gates if model.shadow else [])]
            for block, gates in blocks:
                for gate_index, gate in enumerate(gates):
                    if gate.metric != "quality" or gate.expression is None:
                        continue
                    where = ("models", index, block, "gates", gate_index, "expression")
                    text = gate.expression
                    if self.target == "eks" and "$candidate" not in text:
                        problems.add(where, "on EKS a quality gate's PromQL names the version it judges as "
                                     'inferenceservice="$candidate" (and the baseline as "$stable")', text)
                    if self.target == "sagemaker" and not text.lstrip().upper().startswith("SELECT"):
                        problems.add(where, "on SageMaker a quality gate's expression is a CloudWatch Metrics Insights "
                                     "query: SELECT <stat>(<metric>) FROM ...", text)
    def _check_alerting(self, problems: Problems) -> None:
        alerting = self.alerting
        names = {model.name for model in self.models}
        for index, route in enumerate(alerting.routes):
            if route.model is not None and route.model not in names:
                problems.add(
                    ("alerting", "routes", index, "model"),
                    f"no model named {route.model!r} in this stack; models: {', '.join(sorted(names)) or 'none'}",
                    route.model,
                )
        if self.environment != "dev":
            team = self.tags.get("team")
            unrouted = [
                model.name
                for model in self.models
                if alerting.receiver_for({"severity": "critical", "model": model.name, "team": team}) is None
            ]
            if alerting.receiver_for({"severity": "critical", "team": team}) is None or unrouted:
                which = f" (not reached for models: {', '.join(unrouted)})" if unrouted else ""
                problems.add(
                    ("alerting",),
                    f"{self.environment} must route critical alerts to a receiver{which}: add a route with "
                    "`severity: critical` or a default_receiver",
                )
        if self.target == "sagemaker":
            for index, receiver in enumerate(alerting.receivers):
                if receiver.kind not in ("sns", "none"):  # "none": its own field error says what is missing
                    problems.add(
                        ("alerting", "receivers", index),
                        f"SageMaker stacks alert through CloudWatch alarms, which notify SNS topics only; make "
                        f"{receiver.name} an sns receiver and subscribe {receiver.kind} to its topic",
                    )

    def _check_prod(self, problems: Problems) -> None:
        if self.network.availability_zones < 3:
            problems.add(
                ("network", "availability_zones"),
                f"prod spreads over at least 3 availability zones; got {self.network.availability_zones}",
            )
        if self.network.nat_gateways != "one_per_az":
            problems.add(
                ("network", "nat_gateways"),
                "prod needs one_per_az NAT gateways so one zone's outage does not cut egress",
            )
        for index, model in enumerate(self.models):
            if model.autoscaling.scale_to_zero:
                problems.add(
                    ("models", index, "autoscaling", "scale_to_zero"),
                    "prod models keep a warm replica; scale_to_zero is for dev and staging",
                )

    def _check_eks_capacity(self, problems: Problems) -> None:
        assert self.cluster is not None
        pools = self.cluster.gpu_pools
        demand: dict[str, int] = {pool.name: 0 for pool in pools}
        for index, model in enumerate(self.models):
            pool = next((p for p in pools if model.instance_type in p.instance_types), None)
            if pool is None:
                offered = ", ".join(f"{p.name} ({', '.join(p.instance_types)})" for p in pools)
                problems.add(
                    ("models", index, "instance_type"),
                    f"no GPU pool offers {model.instance_type}; pools: {offered}",
                    model.instance_type,
                )
                continue
            demand[pool.name] += peak_replicas(model) * model.gpus
        for index, pool in enumerate(pools):
            capacity = pool.max_size * pool.gpus_per_node
            if demand[pool.name] > capacity:
                problems.add(
                    ("cluster", "gpu_pools", index, "max_size"),
                    f"models on pool {pool.name} may need {demand[pool.name]} GPUs at peak (max replicas "
                    f"and canary) but max_size {pool.max_size} x {pool.gpus_per_node} GPU(s) "
                    f"gives {capacity}",
                    pool.max_size,
                )

    def _check_sagemaker(self, problems: Problems) -> None:
        instances = catalog().instances
        self._check_sagemaker_images(problems)
        # Updates without a canary bake twice on fleets of two or more (one instance, then the rest).
        settings = self.sagemaker_settings
        self._check_sagemaker_bakes(problems, ("sagemaker",), settings.bake_s, 2)
        for index, model in enumerate(self.models):
            where = ("models", index)
            if model.vllm is not None and model.vllm.adapters:
                problems.add(
                    (*where, "vllm", "adapters"),
                    "LoRA adapters need SageMaker inference components, which the pulumi-aws provider has no "
                    "resource for; serve adapters on target eks (docs/decisions.md, LoRA adapters)",
                )
            if model.routing.balancer == "endpoint_picker":
                problems.add(
                    (*where, "routing", "balancer"),
                    "SageMaker routes requests to its own instances; the endpoint picker runs on target eks",
                    model.routing.balancer,
                )
            for loc, source in (("source",), model.source), (("canary", "source"), model.canary and model.canary.source):
                if source and source.startswith("hf://"):
                    problems.add(
                        (*where, *loc),
                        f"SageMaker copies weights from S3 into /opt/ml/model before the container starts; "
                        f"upload {source} to s3://{self.storage.bucket}/<prefix>/ and use that",
                        source,
                    )
                elif source and not source.endswith("/"):
                    problems.add(
                        (*where, *loc),
                        f"SageMaker copies an S3 prefix only when it ends with '/'; write {source}/",
                        source,
                    )
            itype = instances.get(model.instance_type)
            if itype is not None:
                if sagemaker_instance(model.instance_type) not in sagemaker_instance_types():
                    problems.add(
                        (*where, "instance_type"),
                        f"SageMaker endpoints offer no ml.{model.instance_type}",
                        model.instance_type,
                    )
                if model.gpus != itype.gpu_count:
                    problems.add(
                        (*where, "gpus"),
                        f"a SageMaker variant gives each replica the whole instance: gpus must equal the "
                        f"{itype.gpu_count} GPU(s) of {model.instance_type}",
                        model.gpus,
                    )
            policy = model.autoscaling
            if policy.combined is not None:
                problems.add(
                    (*where, "autoscaling", "combined"),
                    "SageMaker publishes no queue depth and Application Auto Scaling has no KEDA formula; "
                    "use signal concurrency (ConcurrentRequestsPerModel) or requests_per_second",
                )
            elif policy.signal == "queue_depth":
                problems.add(
                    (*where, "autoscaling", "signal"),
                    "SageMaker publishes no queue depth for real-time endpoints; use concurrency "
                    "(ConcurrentRequestsPerModel, high resolution) or requests_per_second "
                    "(InvocationsPerInstance)",
                    policy.signal,
                )
            if policy.scale_to_zero:
                problems.add(
                    (*where, "autoscaling", "scale_to_zero"),
                    "SageMaker real-time endpoint variants keep at least one instance; scaling to zero "
                    "needs inference components, which ml-serving does not deploy",
                )
            if model.canary is not None:
                self._check_sagemaker_canary(problems, index, model)
            self._check_sagemaker_side_traffic(problems, index, model)

    def _check_sagemaker_side_traffic(self, problems: Problems, index: int, model: ModelSpec) -> None:
        """Limits stated in docs/canary.md: one production variant per endpoint here."""
        where = ("models", index)
        if model.experiment is not None:
            problems.add(
                (*where, "experiment"),
                "A/B experiments run on EKS only: ml-serving's SageMaker endpoints carry one production "
                "variant (the one blue/green updates and autoscaling address); clients could pick a variant with "
                "InvokeEndpoint TargetVariant, but the extra variants are not deployed (docs/canary.md)",
            )
        if model.shadow is not None:
            problems.add(
                (*where, "shadow"),
                "shadow traffic runs on EKS only: a SageMaker shadow variant (ShadowProductionVariants) would sit "
                "in the endpoint config that every blue/green update replaces, which ml-serving does not "
                "deploy yet (docs/canary.md)",
            )
        if model.automated_rollout:
            problems.add(
                (*where, "automated_rollout"),
                "SageMaker walks a canary's steps and rolls back by itself; automated_rollout applies to EKS",
            )

    def _check_sagemaker_images(self, problems: Problems) -> None:
        for runtime in sorted({m.runtime for m in self.models}):
            source = getattr(self.images, runtime)
            if source.prebuilt is not None and not ECR_IMAGE.match(source.prebuilt):
                problems.add(
                    ("images", runtime, "prebuilt"),
                    f"SageMaker pulls model images from Amazon ECR only; push {source.prebuilt} to an ECR "
                    "repository or use build",
                    source.prebuilt,
                )
            aws_image = source.sagemaker_image
            allowed = SAGEMAKER_IMAGE_FRAMEWORKS[runtime]
            if aws_image is not None and aws_image.framework not in allowed:
                problems.add(
                    ("images", runtime, "sagemaker_image", "framework"),
                    f"{aws_image.framework} images do not serve {runtime} models; use {' or '.join(allowed)}",
                    aws_image.framework,
                )

    def _check_sagemaker_canary(self, problems: Problems, index: int, model: ModelSpec) -> None:
        canary = model.canary
        assert canary is not None
        where = ("models", index, "canary")
        steps = canary.steps
        # Linear steps need no lower bound of their own: at most 10 steps make each at least 10 %,
        # SageMaker's smallest LinearStepSize.
        if sagemaker_traffic_shift(steps) is None:
            problems.add(
                (*where, "steps"),
                f"SageMaker shifts traffic in one canary step or in equal linear steps; {steps} is "
                f"neither (try [{steps[0]}, 100] or [25, 50, 75, 100])",
                steps,
            )
        if steps[0] > 50:
            problems.add(
                (*where, "steps"),
                f"SageMaker canaries take at most 50 % of the fleet first; got {steps[0]} %",
                steps,
            )
        if canary.traffic_percent not in (0, steps[0]):
            problems.add(
                (*where, "traffic_percent"),
                f"SageMaker walks the steps itself once a rollout starts: set traffic_percent to {steps[0]} "
                f"to start it, or 0 to stay on (or go back to) {model.version}; got {canary.traffic_percent}",
                canary.traffic_percent,
            )
        fleet = model.autoscaling.min_replicas + model.autoscaling.warm_pool
        if fleet < 2:
            problems.add(
                ("models", index, "autoscaling", "min_replicas"),
                "a SageMaker canary is at most half of the new fleet's instances, so a model with a canary "
                f"keeps at least 2 (min_replicas + warm_pool is {fleet})",
                model.autoscaling.min_replicas,
            )
        self._check_sagemaker_bakes(problems, where, canary.step_interval_s, len(steps))
        for gate_index, gate in enumerate(canary.gates):
            if gate.metric == "ttft_p99":
                problems.add(
                    (*where, "gates", gate_index, "metric"),
                    "SageMaker publishes no time-to-first-token metric; gate on latency_p99 (ModelLatency)",
                    gate.metric,
                )
            if gate.max_value is None:
                problems.add(
                    (*where, "gates", gate_index, "max_value"),
                    "SageMaker rollback alarms need an absolute max_value; max_ratio_to_stable is EKS-only",
                )
            if gate.window_s % 60:
                problems.add(
                    (*where, "gates", gate_index, "window_s"),
                    f"CloudWatch alarm periods are whole minutes; use a multiple of 60, not {gate.window_s}",
                    gate.window_s,
                )
            elif gate.window_s > canary.step_interval_s:
                problems.add(
                    (*where, "gates", gate_index, "window_s"),
                    f"the gate's window ({gate.window_s} s) is longer than each bake (step_interval_s "
                    f"{canary.step_interval_s} s): traffic would move on before the alarm could fire",
                    gate.window_s,
                )

    def _check_sagemaker_bakes(self, problems: Problems, where: tuple, interval: int, bakes: int) -> None:
        if interval > SAGEMAKER_MAX_BAKE_S:
            problems.add(
                (*where, "step_interval_s"),
                f"SageMaker bakes each traffic step for at most {SAGEMAKER_MAX_BAKE_S} s "
                f"(WaitIntervalInSeconds); got {interval}",
                interval,
            )
            return
        termination = self.sagemaker.termination_wait_s if self.sagemaker else 0
        budget = SAGEMAKER_UPDATE_WAIT_S - SAGEMAKER_FLEET_START_S
        if bakes * interval + termination > budget:
            field = "step_interval_s" if where[-1] == "canary" else "bake_s"
            problems.add(
                (*where, field),
                f"`pulumi up` waits {SAGEMAKER_UPDATE_WAIT_S} s for an endpoint update; {bakes} bakes of {interval} s "
                f"plus termination_wait_s ({termination} s) leave under {SAGEMAKER_FLEET_START_S} s of it for the new "
                f"fleet to start (bake for at most {max(0, budget - termination) // bakes} s)",
                interval,
            )

def canary_replicas(model: ModelSpec) -> int:
    """Replicas the candidate may scale to: its share of the stable ceiling, at least one."""
    if model.canary is None:
        return 0
    # An automated rollout may reach any step without another `pulumi up`: size for the last.
    share = model.canary.steps[-1] if model.automated_rollout else model.canary.traffic_percent
    return max(1, math.ceil(model.autoscaling.max_replicas * share / 100))


def peak_replicas(model: ModelSpec) -> int:
    """Replicas a model can run at once: the stable ceiling plus the candidate's share.

    Warm-pool placeholders are left out: they are preempted by real replicas and may wait
    pending at the pool's ceiling without harm.
    """
    return model.autoscaling.max_replicas + canary_replicas(model) + side_replicas(model)


def own_variant_versions(model: ModelSpec) -> list[tuple[str, str]]:
    """(version, source) of experiment arms that run as versions of their own."""
    if model.experiment is None:
        return []
    return [(v.version, v.source) for v in model.experiment.variants if v.source is not None]


def shadow_replicas(model: ModelSpec) -> int:
    """Replicas a shadow may scale to: its mirrored share of the stable ceiling, at least one."""
    if model.shadow is None:
        return 0
    return max(1, math.ceil(model.autoscaling.max_replicas * model.shadow.mirror_percent / 100))


def side_replicas(model: ModelSpec) -> int:
    """Peak replicas of experiment arms (each up to the stable ceiling: clients choose the
    share) and of a shadow."""
    return len(own_variant_versions(model)) * model.autoscaling.max_replicas + shadow_replicas(model)


def sagemaker_traffic_shift(steps: list[int]) -> tuple[Literal["CANARY", "LINEAR"], int] | None:
    """The blue/green shifting a list of steps maps to: one canary step, or equal linear steps."""
    if len(steps) == 2:
        return "CANARY", steps[0]
    step = steps[0]
    if all(value == step * (i + 1) for i, value in enumerate(steps)):
        return "LINEAR", step
    return None
