"""The EKS cluster: control plane, node groups, add-ons and observability."""
from __future__ import annotations

from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.intent import versions
from components.intent.aws_data import unknown_ec2_type
from components.intent.base import Cidr, IamRoleArn, Problems, ResourceName, Spec, duplicates, pattern_check
from components.intent.cold_start import NodeColdStart, cold_start_problems
from components.intent.efa import EFA_NETWORK_CARDS, efa_problem
from components.intent.instances import catalog

KubernetesVersion = Literal[versions.EKS_KUBERNETES_VERSIONS]  # type: ignore[valid-type]
LogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]


def _ec2_type(instance_type: str) -> str:
    problem = unknown_ec2_type(instance_type)
    if problem:
        raise ValueError(problem)
    return instance_type


Ec2InstanceType = Annotated[str, AfterValidator(_ec2_type)]


class SystemNodeGroup(Spec):
    """On-demand CPU nodes for the platform's own pods (CoreDNS, controllers, Prometheus)."""

    instance_types: list[Ec2InstanceType] = Field(
        ["m6i.xlarge"], min_length=1, max_length=5, description="CPU instance types."
    )
    min_size: int = Field(2, ge=1, le=50)
    max_size: int = Field(4, ge=1, le=50)
    disk_gib: int = Field(50, ge=20, le=1000, description="gp3 root volume.")

    @model_validator(mode="after")
    def _bounds(self) -> SystemNodeGroup:
        if self.min_size > self.max_size:
            problems = Problems(self)
            problems.add(("min_size",), f"min_size ({self.min_size}) must not exceed max_size ({self.max_size})")
            problems.raise_if_any()
        return self


class NodeWarmPool(Spec):
    """Pre-initialised GPU instances parked next to the pool (EKS managed node group warm pool),
    so a scale-out skips the EC2 launch and boot."""

    min_size: int = Field(1, ge=0, le=20, description="Instances kept in the warm pool.")
    # `hibernated` stays a known word so it is refused with the reason (GPU pools), not as a typo.
    state: Literal["stopped", "running", "hibernated"] = Field(
        "stopped",
        description="`stopped` costs only EBS; `running` is fastest and costs the full instance price. "
        "`hibernated` is refused: GPU instances cannot hibernate.",
    )
    reuse_on_scale_in: bool = Field(
        True, description="Return instances to the warm pool on scale-in instead of terminating them."
    )


class GpuNodePool(Spec):
    """A managed node group of GPU instances, tainted `nvidia.com/gpu` and able to scale from zero."""

    name: ResourceName = Field(description="Short stable key of the pool; node groups are named after it.")
    instance_types: list[str] = Field(
        min_length=1,
        max_length=5,
        description="GPU instance types; all must have the same GPU model and count.",
    )
    capacity_type: Literal["on_demand", "spot"] = Field("on_demand", description="Spot saves ~60 % but can be reclaimed.")
    min_size: int = Field(0, ge=0, le=100, description="0 lets the pool scale to zero when idle.")
    max_size: int = Field(ge=1, le=100, description="Ceiling on nodes (and GPU spend).")
    disk_gib: int = Field(200, ge=100, le=2000, description="gp3 root volume; serving images are 10-20 GB.")
    ami: Literal["al2023_nvidia", "bottlerocket_nvidia"] = Field(
        "al2023_nvidia",
        description="EKS-optimised AMI with the NVIDIA driver. Bottlerocket also ships the device plugin.",
    )
    efa: bool = Field(
        False,
        description="Elastic Fabric Adapter interfaces on every network card of the nodes, with the security-group "
        "rule and cluster placement group EFA needs: required on a pool that runs a model whose replica spans nodes.",
    )
    placement: Literal["spread", "cluster"] | None = Field(
        None,
        description="`spread`: nodes across the VPC's zones; `cluster`: one cluster placement group in one zone "
        "(nodes on one network spine, and in the one subnet EFA traffic stays in). Default: cluster with efa, "
        "spread without.",
    )
    zone_index: int = Field(
        0,
        ge=0,
        le=5,
        description="The zone (0 = the VPC's first) a cluster-placed pool runs in; pick one that offers the instance type.",
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Extra node labels.")
    warm_pool: NodeWarmPool | None = Field(None, description="Keep initialised instances ready for scale-out.")
    cold_start: NodeColdStart = Field(default_factory=NodeColdStart, description="Shorter replica starts on these nodes.")

    @model_validator(mode="after")
    def _uniform_gpus(self) -> GpuNodePool:
        problems = Problems(self)
        if self.warm_pool is not None and self.warm_pool.reuse_on_scale_in and self.ami == "bottlerocket_nvidia":
            problems.add(
                ("warm_pool", "reuse_on_scale_in"),
                "EKS warm pools cannot return Bottlerocket instances on scale-in; set it to false",
            )
        if self.warm_pool is not None and self.capacity_type == "spot":
            problems.add(
                ("warm_pool",),
                "EC2 Auto Scaling refuses a warm pool on a group that launches Spot Instances; use "
                "capacity_type on_demand for this pool or drop warm_pool",
            )
        if self.warm_pool is not None and len(self.instance_types) > 1:
            problems.add(
                ("warm_pool",),
                "EC2 Auto Scaling refuses a warm pool on a group with a mixed instances policy, which "
                f"{len(self.instance_types)} instance types need; give this pool one instance type or drop warm_pool",
            )
        known = catalog().instances
        not_ec2 = [problem for t in self.instance_types if (problem := unknown_ec2_type(t))]
        unknown = [t for t in self.instance_types if t not in known]
        if not_ec2:
            problems.add(("instance_types",), "; ".join(not_ec2))
        elif unknown:
            problems.add(
                ("instance_types",),
                f"unknown GPU instance types {unknown}; known: {', '.join(sorted(known))}",
                unknown,
            )
        else:
            shapes = {(known[t].gpu, known[t].gpu_count) for t in self.instance_types}
            if len(shapes) > 1:
                problems.add(
                    ("instance_types",),
                    "all instance types of a pool need the same GPU model and count, so the "
                    f"autoscaler can size a node before it exists; got {sorted(shapes)}",
                    self.instance_types,
                )
        if duplicates(self.instance_types):
            problems.add(("instance_types",), f"repeated instance types: {duplicates(self.instance_types)}")
        for loc, message in cold_start_problems(self):
            problems.add(loc, message)
        if self.min_size > self.max_size:
            problems.add(("min_size",), f"min_size ({self.min_size}) must not exceed max_size ({self.max_size})")
        problems.run(self._check_efa)
        problems.raise_if_any()
        return self

    @property
    def gpus_per_node(self) -> int:
        return catalog().instances[self.instance_types[0]].gpu_count

    @property
    def resolved_placement(self) -> Literal["spread", "cluster"]:
        if self.placement is not None:
            return self.placement
        return "cluster" if self.efa else "spread"

    def _check_efa(self, problems: Problems) -> None:
        if self.efa:
            refused = [problem for t in self.instance_types if (problem := efa_problem(t))]
            if refused:
                problems.add(("efa",), "; ".join(refused), self.efa)
            cards = {t: EFA_NETWORK_CARDS[t] for t in self.instance_types if t in EFA_NETWORK_CARDS}
            if len(set(cards.values())) > 1:
                problems.add(
                    ("instance_types",),
                    "one launch template serves every instance type of an EFA pool, with one EFA interface per "
                    f"network card, and these differ in cards: {cards}; give the pool one instance type",
                    self.instance_types,
                )
            if self.placement == "spread":
                problems.add(
                    ("placement",),
                    "EFA's OS-bypass traffic does not leave its subnet, and spread puts nodes in every zone's "
                    "subnet; use placement cluster (the default with efa)",
                    self.placement,
                )
        if "zone_index" in self.model_fields_set and self.resolved_placement != "cluster":
            problems.add(
                ("zone_index",),
                "zone_index applies to placement cluster only: a spread pool runs in every zone",
                self.zone_index,
            )


class Observability(Spec):
    """kube-prometheus-stack sizing."""

    retention_days: int = Field(7, ge=1, le=365, description="How long Prometheus keeps samples.")
    storage_gib: int = Field(50, ge=10, le=4000, description="Prometheus volume (gp3, encrypted).")
    grafana: bool = Field(True, description="Install Grafana with our dashboards.")


# One exact chart version. A range ("*", ">=0.1.0", "~1.2") is never a pin: Helm resolves it to
# whatever is newest at install time, so two `pulumi up` runs of one commit can install different code.
ChartVersion = Annotated[
    str,
    pattern_check(
        r"v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?",
        "give one exact chart version such as 1.2.3 or v1.2.3; a range or wildcard lets Helm pick "
        "whatever is newest at install time",
    ),
]


def _pinned(chart: str) -> Any:
    pin = versions.CHARTS[chart]
    return Field(
        pin.version,
        max_length=40,
        description=f"Version of {pin.repo}/{pin.chart}. Anything but the pin ({pin.version}) needs a reasoned "
        "entry in the addon-versions-pinned policy's allow-list.",
    )


# Domains AWS answers for inside every VPC: a private zone named after one of them, or under
# one, shadows the service endpoints (ECR, S3, STS, EKS) nodes need to pull images and join.
AWS_DOMAINS = ("amazonaws.com", "amazonaws.com.cn", "aws", "amazon.com", "amazontrust.com")


class AddonVersions(Spec):
    """Chart versions of the cluster add-ons. The defaults are the pins in versions.py."""

    cert_manager: ChartVersion = _pinned("cert-manager")
    keda: ChartVersion = _pinned("keda")
    keda_http_add_on: ChartVersion = _pinned("keda-http-add-on")
    kserve: ChartVersion = _pinned("kserve")
    kube_prometheus_stack: ChartVersion = _pinned("kube-prometheus-stack")
    nvidia_device_plugin: ChartVersion = _pinned("nvidia-device-plugin")
    dcgm_exporter: ChartVersion = _pinned("dcgm-exporter")
    cluster_autoscaler: ChartVersion = _pinned("cluster-autoscaler")
    envoy_gateway: ChartVersion = _pinned("envoy-gateway")
    external_dns: ChartVersion = _pinned("external-dns")
    flagger: ChartVersion = _pinned("flagger")


class ClusterSpec(Spec):
    """EKS control plane, access, node groups and add-ons."""

    kubernetes_version: KubernetesVersion = Field(
        versions.DEFAULT_KUBERNETES_VERSION, description="EKS Kubernetes minor version."
    )
    public_access_cidrs: list[Cidr] = Field(
        default_factory=list,
        max_length=40,
        description="CIDRs allowed to reach the API endpoint from the internet; empty keeps it private.",
    )
    admin_role_arns: list[IamRoleArn] = Field(
        default_factory=list,
        description="IAM roles granted cluster admin through EKS access entries.",
    )
    deployer_role_arn: IamRoleArn | None = Field(
        None,
        description=(
            "The role `pulumi up` runs as (CI's deploy role). It gets the cluster-admin access entry the "
            "in-cluster installs need, as a managed resource. Without it, EKS makes whoever creates the "
            "cluster its admin, outside the stack."
        ),
    )
    viewer_role_arns: list[IamRoleArn] = Field(
        default_factory=list,
        description="IAM roles granted read-only access (e.g. CI's preview role, so `pulumi preview` can diff in-cluster objects).",
    )
    log_types: list[LogType] = Field(
        ["api", "audit", "authenticator"], description="Control-plane logs sent to CloudWatch."
    )
    log_retention_days: Literal[7, 14, 30, 60, 90, 180, 365, 731] = Field(
        30, description="How long CloudWatch keeps control-plane logs."
    )
    model_domain: str = Field(
        "models.internal",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$",
        max_length=200,
        description="DNS suffix models answer on at the internal gateway: <model>.<model_domain>.",
    )
    system_nodes: SystemNodeGroup = Field(default_factory=SystemNodeGroup)
    gpu_pools: list[GpuNodePool] = Field(min_length=1, max_length=20)
    observability: Observability = Field(default_factory=Observability)
    addon_versions: AddonVersions = Field(default_factory=AddonVersions)

    @field_validator("model_domain")
    @classmethod
    def _not_an_aws_domain(cls, domain: str) -> str:
        for aws_domain in AWS_DOMAINS:
            if domain == aws_domain or domain.endswith("." + aws_domain):
                raise ValueError(
                    f"{domain} is AWS's own domain ({aws_domain}): the private zone would shadow the service "
                    "endpoints nodes need inside the VPC; use a name under .internal, e.g. models.internal"
                )
        return domain

    @field_validator("public_access_cidrs")
    @classmethod
    def _no_open_endpoint(cls, cidrs: list[IPv4Network]) -> list[IPv4Network]:
        open_ranges = [str(c) for c in cidrs if c.prefixlen == 0]
        if open_ranges:
            raise ValueError(
                "0.0.0.0/0 would open the Kubernetes API to the internet; list the office or VPN ranges instead"
            )
        return cidrs

    @model_validator(mode="after")
    def _unique_pools_and_roles(self) -> ClusterSpec:
        problems = Problems(self)
        repeated = duplicates([pool.name for pool in self.gpu_pools])
        if repeated:
            problems.add(("gpu_pools",), f"GPU pool names must be unique; repeated: {', '.join(repeated)}")
        both = sorted(set(self.admin_role_arns) & set(self.viewer_role_arns))
        if both:
            problems.add(("viewer_role_arns",), f"already cluster admins: {', '.join(both)}")
        deployer_listed = self.deployer_role_arn in (*self.admin_role_arns, *self.viewer_role_arns)
        if deployer_listed:
            problems.add(
                ("deployer_role_arn",),
                f"{self.deployer_role_arn} gets its access entry as the deployer; remove it from "
                "admin_role_arns and viewer_role_arns (EKS rejects a second entry for one principal)",
            )
        names = [arn.rsplit("/", 1)[-1] for arn in [*self.admin_role_arns, *self.viewer_role_arns]]
        names += [self.deployer_role_arn.rsplit("/", 1)[-1]] if self.deployer_role_arn else []
        if duplicates(names) and not both and not deployer_listed:
            problems.add(("viewer_role_arns",), f"role names must be unique across admins and viewers; repeated: {', '.join(duplicates(names))}")
        problems.raise_if_any()
        return self
