"""Values the cloud would compute (IDs, ARNs, endpoints, digests), faked deterministically.

Without them, inputs that depend on another resource's outputs silently vanish under
Pulumi's mocks. Every fake is derived from the resource's name, so previews are stable
and diffable; none of them is real.
"""
from __future__ import annotations

import hashlib
from typing import Any

ACCOUNT_ID = "123456789012"
PARTITION = "aws"


def digest(text: str, length: int = 64) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _physical_name(name: str, inputs: dict[str, Any]) -> str:
    # Pulumi auto-names cloud resources `<logical>-<7 hex>` unless a name is given.
    return inputs.get("name") or f"{name}-{digest(name, 7)}"


def _aws_arn(service: str, region: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT_ID}:{resource}"


def resource_outputs(typ: str, name: str, inputs: dict[str, Any], region: str) -> tuple[str, dict[str, Any]]:
    """(id, state) for a registration: the inputs plus what the provider would compute."""
    state = dict(inputs)
    physical = _physical_name(name, inputs)
    rid = f"{name}-{digest(typ + name, 8)}"
    extra: dict[str, Any] = {}
    if typ.startswith("aws:"):
        service = typ.split(":")[1].split("/")[0]
        extra["arn"] = _aws_arn(service, region, f"{typ.rsplit(':', 1)[-1].lower()}/{physical}")
        if "name" not in inputs:
            extra["name"] = physical
    extra.update(_specific(typ, name, physical, inputs, region, rid))
    if "id" in extra:
        rid = extra.pop("id")
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(state.get(key), dict):
            # An input object the provider adds computed fields to (an EKS cluster's vpcConfig).
            state[key] = {**state[key], **value}
        else:
            state.setdefault(key, value)
    return rid, state


def _specific(typ: str, name: str, physical: str, inputs: dict[str, Any], region: str, rid: str) -> dict[str, Any]:
    short = digest(name, 17)
    if typ == "aws:ec2/vpc:Vpc":
        return {"id": f"vpc-{short}", "defaultSecurityGroupId": f"sg-{digest(name + 'default', 17)}"}
    if typ == "aws:ec2/subnet:Subnet":
        return {"id": f"subnet-{short}"}
    if typ == "aws:ec2/securityGroup:SecurityGroup":
        return {"id": f"sg-{short}"}
    if typ == "aws:ec2/routeTable:RouteTable":
        return {"id": f"rtb-{short}"}
    if typ == "aws:ec2/internetGateway:InternetGateway":
        return {"id": f"igw-{short}"}
    if typ == "aws:ec2/natGateway:NatGateway":
        return {"id": f"nat-{short}"}
    if typ == "aws:ec2/eip:Eip":
        return {"id": f"eipalloc-{short}", "publicIp": "198.51.100.10"}
    if typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        return {"id": f"vpce-{short}"}
    if typ == "aws:ec2/launchTemplate:LaunchTemplate":
        return {"id": f"lt-{short}", "latestVersion": 1}
    if typ == "aws:iam/role:Role":
        return {"arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{physical}", "name": physical}
    if typ == "aws:iam/policy:Policy":
        return {"arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:policy/{physical}"}
    if typ == "aws:kms/key:Key":
        key_id = f"{digest(name, 8)}-{digest(name + '1', 4)}-{digest(name + '2', 4)}-{digest(name + '3', 4)}-{digest(name + '4', 12)}"
        return {"id": key_id, "keyId": key_id, "arn": _aws_arn("kms", region, f"key/{key_id}")}
    if typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or physical
        return {"id": bucket, "bucket": bucket, "arn": f"arn:{PARTITION}:s3:::{bucket}",
                "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com"}
    if typ == "aws:eks/cluster:Cluster":
        return {
            "id": physical,
            "endpoint": f"https://{digest(name, 32).upper()}.gr7.{region}.eks.amazonaws.com",
            "certificateAuthority": {"data": "LS0tLS1CRUdJTi1NT0NLLUNBLS0tLS0="},
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{digest(name, 32).upper()}"}]}],
            "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{digest(name + 'cluster', 17)}"},
            "status": "ACTIVE",
        }
    if typ == "aws:eks/nodeGroup:NodeGroup":
        # A prefix gets a unique suffix, as the provider's create.Name does.
        prefix = inputs.get("nodeGroupNamePrefix")
        group = inputs.get("nodeGroupName") or (f"{prefix}{digest(name, 8)}" if prefix else physical)
        return {"resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{digest(name, 8)}"}]}], "status": "ACTIVE"}
    if typ == "aws:ecr/repository:Repository":
        repo = inputs.get("name") or physical
        return {"repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{repo}", "registryId": ACCOUNT_ID}
    if typ == "docker-build:index:Image":
        image_digest = f"sha256:{digest('image:' + name)}"
        tags = inputs.get("tags") or [name]
        return {"digest": image_digest, "ref": f"{tags[0].split(':')[0]}@{image_digest}"}
    if typ == "aws:route53/zone:Zone":
        zone_id = "Z" + digest(name, 20).upper()
        return {"id": zone_id, "zoneId": zone_id, "arn": f"arn:{PARTITION}:route53:::hostedzone/{zone_id}",
                "nameServers": [f"ns-{i}.awsdns.example" for i in range(4)]}
    if typ.startswith("aws:sagemaker/"):
        return {"id": physical, "name": physical}
    if typ == "random:index/randomPassword:RandomPassword":
        return {"result": "preview-placeholder-not-a-password", "bcryptHash": "preview"}
    if typ == "kubernetes:helm.sh/v3:Release":
        return {"status": {"name": inputs.get("name", name), "namespace": inputs.get("namespace", "default"),
                           "status": "deployed", "version": inputs.get("version", "")}}
    return {}


def invoke_result(token: str, args: dict[str, Any], region: str) -> dict[str, Any] | None:
    """Results of the data-source calls the program makes; None for a call nobody faked."""
    if token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
        # Stands in for a receiver credential; the preview never reads a real one.
        return {"arn": args.get("secretId", ""), "secretString": "preview-credential", "versionId": "preview", "id": "preview"}
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT_ID, "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/preview", "userId": "AIDAPREVIEW", "id": ACCOUNT_ID}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION}
    if token == "aws:index/getRegion:getRegion":
        return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com"}
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        names = [f"{region}{letter}" for letter in "abcd"]
        return {"names": names, "zoneIds": [f"use1-az{i}" for i in range(1, 5)], "id": region}
    if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
        return {"userName": "AWS", "password": "preview-token", "authorizationToken": "preview",
                "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com", "id": region}
    return None
