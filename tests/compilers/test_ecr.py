"""The ECR lifecycle policy: keep the newest N images, refresh the immutable build cache."""
from __future__ import annotations

from components.compilers import ecr


def test_keeps_the_newest_images():
    rules = ecr.lifecycle_policy(7)["rules"]
    count = next(r for r in rules if r["selection"]["tagStatus"] == "any")
    assert count["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 7}
    assert count["action"] == {"type": "expire"}


def test_the_any_rule_is_evaluated_last():
    # ECR requires the `any` rule to have the highest rulePriority; a rule before it also
    # shields the images it selects from being expired by it.
    rules = ecr.lifecycle_policy(10)["rules"]
    priorities = [r["rulePriority"] for r in rules]
    assert len(set(priorities)) == len(priorities)
    assert max(rules, key=lambda r: r["rulePriority"])["selection"]["tagStatus"] == "any"


def test_the_build_cache_expires_after_a_week_so_it_can_be_rewritten():
    cache = ecr.lifecycle_policy(10)["rules"][0]
    assert cache["rulePriority"] == 1
    assert cache["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": [ecr.CACHE_TAG],
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 7,
    }
    assert cache["action"] == {"type": "expire"}
