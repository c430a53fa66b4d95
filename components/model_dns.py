"""ModelDns: a private Route53 zone for the model domain, and external-dns writing each
model's `<model>.<domain>` into it, pointing at the gateway's internal load balancer."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import helm
from components.compilers import helm_values, iam
from components.pod_identity import pod_role


@dataclass(frozen=True)
class ModelDnsArgs:
    domain: str
    vpc_id: pulumi.Input[str]
    region: str
    cluster_name: str  # owner of the records external-dns writes
    cluster: pulumi.Input[str]  # the cluster's name as an output, so the association waits for it
    chart_version: str
    after: list[pulumi.Resource] = field(default_factory=list)


class ModelDns(pulumi.ComponentResource):
    zone: aws.route53.Zone

    def __init__(self, name: str, args: ModelDnsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-serving:model_dns:ModelDns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.zone = aws.route53.Zone(
            f"{name}-zone",
            name=args.domain,
            comment="Model endpoints behind the internal gateway; records written by external-dns",
            vpcs=[aws.route53.ZoneVpcArgs(vpc_id=args.vpc_id, vpc_region=args.region)],
            # The records in it are external-dns's, recreated from the routes at any time.
            force_destroy=True,
            opts=child,
        )
        access = pod_role(
            f"{name}-external-dns",
            parent=self,
            cluster_name=args.cluster,
            namespace=helm_values.NAMESPACES["external-dns"],
            service_account=helm_values.EXTERNAL_DNS_SERVICE_ACCOUNT,
            policy=self.zone.arn.apply(lambda arn: json.dumps(iam.external_dns(arn))),
        )
        release = helm.install(
            f"{name}-external-dns",
            "external-dns",
            args.chart_version,
            helm_values.external_dns(args.domain, args.cluster_name, args.region),
            pulumi.ResourceOptions(parent=self, depends_on=[*access.ready, *args.after]),
        )
        self.register_outputs({"zoneId": self.zone.zone_id, "release": release.name})
