"""StackReview: the facts the policy pack judges that no deployed resource carries (cost
estimate, chart pins, each model's intent), published as this component's inputs.

It creates no resources. The pack reads `ml-serving:review:StackReview` like any other
resource, in `pulumi preview` and in the offline preview alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

REVIEW_TYPE = "ml-serving:review:StackReview"


@dataclass(frozen=True)
class StackReviewArgs:
    facts: dict[str, Any]  # components.compilers.review.stack_review()
    # The account the stack deploys into, from the credentials it deploys with: images from any
    # other account's registry need an allow-list entry (images-from-own-account).
    account_id: str


class StackReview(pulumi.ComponentResource):
    def __init__(self, name: str, args: StackReviewArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(REVIEW_TYPE, name, {**args.facts, "accountId": args.account_id}, opts)
        self.register_outputs({})
