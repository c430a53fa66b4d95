"""The ml-serving policy pack. Running this starts the CrossGuard analyzer (a gRPC server that
blocks), which is what `pulumi preview --policy-pack policies` does; never import it."""
from pulumi_policy import PolicyPack

from ml_serving_policies import PACK_DESCRIPTION, PACK_ENFORCEMENT, PACK_NAME, POLICIES

PolicyPack(
    name=PACK_NAME,
    description=PACK_DESCRIPTION,
    enforcement_level=PACK_ENFORCEMENT,
    policies=POLICIES,
)
