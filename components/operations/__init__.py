"""Operations helpers: boto3 tools for the running system, used between deploys.

They act on live resources only and never import Pulumi; what they change by hand, the next
`pulumi up` puts back to what the stack file says, so the stack file stays the record.
"""
