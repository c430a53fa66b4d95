"""AWS's own lists, from the data botocore ships: regions, EC2 and SageMaker instance types.

Read offline from the installed botocore (pinned in requirements.txt), so a region or an
instance type AWS does not have fails validation instead of failing `pulumi up` half-way.
"""
from __future__ import annotations

import difflib
from functools import cache

from botocore.loaders import Loader

from components.intent.base import shown


@cache
def _loader() -> Loader:
    return Loader()


@cache
def regions() -> frozenset[str]:
    """Every region of every partition (aws, aws-cn, aws-us-gov, ...), without the
    `*-global` pseudo-regions."""
    partitions = _loader().load_data("partitions")["partitions"]
    return frozenset(r for p in partitions for r in p["regions"] if not r.endswith("-global"))


@cache
def ec2_instance_types() -> frozenset[str]:
    """The EC2 API's InstanceType enum."""
    shapes = _loader().load_service_model("ec2", "service-2")["shapes"]
    return frozenset(shapes["InstanceType"]["enum"])


@cache
def sagemaker_instance_types() -> frozenset[str]:
    """What an endpoint variant accepts (ProductionVariantInstanceType), ml.* names."""
    shapes = _loader().load_service_model("sagemaker", "service-2")["shapes"]
    return frozenset(shapes["ProductionVariantInstanceType"]["enum"])


def closest(value: str, known: frozenset[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(value, sorted(known), n=n, cutoff=0.6)


def unknown_region(region: str) -> str | None:
    if region in regions():
        return None
    close = closest(region, regions())
    hint = f"; closest: {', '.join(close)}" if close else ""
    return f"{shown(region)} is not an AWS region{hint}"


def unknown_ec2_type(instance_type: str) -> str | None:
    """None for a real EC2 instance type, else what to say about it."""
    if instance_type in ec2_instance_types():
        return None
    close = closest(instance_type, ec2_instance_types())
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return f"{shown(instance_type)} is not an EC2 instance type{hint}"
