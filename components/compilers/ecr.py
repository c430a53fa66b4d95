"""ECR: the lifecycle policy of a serving-image repository."""
from __future__ import annotations

from typing import Any

# The build cache lives in the image repository under this tag (components/images.py).
CACHE_TAG = "buildcache"
# Tags are immutable, so the cache cannot be overwritten in place; expiring it lets the next
# build write a fresh one. A week keeps most builds warm and the cache close to the base.
CACHE_REFRESH_DAYS = 7


def lifecycle_policy(keep_last: int) -> dict[str, Any]:
    """Keep the newest `keep_last` images; refresh the build cache weekly.

    ECR evaluates rules by priority and an image selected by a higher-priority rule is never
    expired by a lower one, so the cache rule goes first and the count rule never removes it.
    """
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire the build cache after {CACHE_REFRESH_DAYS} days so the next build refreshes it",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": [CACHE_TAG],
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": CACHE_REFRESH_DAYS,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the newest {keep_last} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_last},
                "action": {"type": "expire"},
            },
        ]
    }
