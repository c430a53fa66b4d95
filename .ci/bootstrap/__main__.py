"""CI bootstrap program: `make bootstrap` (once, with admin credentials; see docs/ci.md)."""
import sys
from pathlib import Path

# Pulumi runs this from .ci/bootstrap; the components live at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402

from components.ci_bootstrap import CiBootstrap, CiBootstrapArgs  # noqa: E402

config = pulumi.Config()
repository = config.require("repository")
provider = aws.Provider(
    "aws",
    region=aws.config.region,
    default_tags=aws.ProviderDefaultTagsArgs(tags={**config.require_object("tags"), "ml-serving:stack": "ci"}),
)
ci = CiBootstrap(
    "ml-serving-pulumi",
    CiBootstrapArgs(
        state_bucket=config.require("stateBucket"),
        subject_prefix=config.get("subjectPrefix") or f"repo:{repository}",
        environments=tuple(config.get_object("environments") or ("dev", "staging", "prod")),
    ),
    pulumi.ResourceOptions(providers=[provider]),
)
pulumi.export("stateBucket", ci.state_bucket)
pulumi.export("stateKeyArn", ci.state_key_arn)
pulumi.export("previewRoleArn", ci.preview_role_arn)
pulumi.export("deployRoleArns", ci.deploy_role_arns)
