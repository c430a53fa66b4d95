"""AutoscalingPolicy: how a model's replicas follow its load, written once for both targets.

EKS compiles it to a KEDA ScaledObject (HPA behaviour, activation, idle replicas) and
SageMaker to an Application Auto Scaling target-tracking policy.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.intent.base import Problems, Spec
from components.intent.combined_signal import CombinedSignal
from components.intent.scheduled_floors import ScheduledFloors

Signal = Literal["queue_depth", "concurrency", "requests_per_second"]


class AutoscalingPolicy(Spec):
    """Replica bounds, the load signal to track and how fast to react to it."""

    signal: Signal = Field(
        "queue_depth",
        description=(
            "Load signal per replica: `queue_depth` (requests waiting for a batch slot: "
            "vllm:num_requests_waiting, nv_inference_pending_request_count), `concurrency` "
            "(requests in flight) or `requests_per_second`. GPU or CPU utilisation is never "
            "offered: a batching LLM server runs its GPU hot at any load."
        ),
    )
    target: float = Field(
        4,
        gt=0,
        le=10_000,
        description="Value of the signal each replica should carry; above it the model scales out.",
    )
    min_replicas: int = Field(
        1, ge=1, le=100, description="Replicas kept while the model receives traffic."
    )
    max_replicas: int = Field(1, ge=1, le=100, description="Upper bound on replicas (cost ceiling).")
    single_replica_reason: str | None = Field(
        None,
        min_length=10,
        max_length=300,
        description=(
            "Why this model may run a single replica where the policy pack wants two (a node drain or "
            "a crash is then an outage until a replacement starts): the explicit acceptance, reviewed in the PR."
        ),
    )
    warm_pool: int = Field(
        0,
        ge=0,
        le=20,
        description=(
            "Spare capacity, in replicas, provisioned ahead of demand so a scale-out skips node "
            "provisioning and the image pull. EKS: preemptible placeholder pods on the model's "
            "GPU nodes; SageMaker: extra in-service instances. Counts within max_replicas."
        ),
    )
    scale_up_window_s: int = Field(
        0,
        ge=0,
        le=600,
        description="Stabilisation window before scaling out (HPA scaleUp; SageMaker scale-out cooldown).",
    )
    scale_down_window_s: int = Field(
        600,
        ge=60,
        le=3600,
        description="Stabilisation window before scaling in (HPA scaleDown; SageMaker scale-in cooldown).",
    )
    scale_to_zero: bool = Field(
        False,
        description=(
            "Let the model idle at zero replicas after `idle_timeout_s` without requests. EKS "
            "wakes it through the KEDA HTTP add-on, which holds requests while a replica starts. "
            "Not for prod, not for SageMaker real-time endpoints."
        ),
    )
    idle_timeout_s: int = Field(
        900,
        ge=60,
        le=86_400,
        description="With scale_to_zero: seconds without requests before going to zero.",
    )
    combined: CombinedSignal | None = Field(
        None,
        description=(
            "Scale on the queue and the running batch together instead of one `signal` (EKS: KEDA "
            "scalingModifiers): ceil(waiting / queue_per_replica + running / running_per_replica) replicas."
        ),
    )
    schedule: ScheduledFloors | None = Field(
        None,
        description=(
            "Daily windows with a higher floor, raised before the load a daily shape makes predictable "
            "(EKS: KEDA cron triggers; SageMaker: scheduled actions on the scalable target)."
        ),
    )

    @model_validator(mode="after")
    def _bounds_and_windows(self) -> AutoscalingPolicy:
        problems = Problems(self)
        if self.min_replicas > self.max_replicas:
            problems.add(
                ("min_replicas",),
                f"min_replicas ({self.min_replicas}) must not exceed max_replicas ({self.max_replicas})",
                self.min_replicas,
            )
        elif self.min_replicas + self.warm_pool > self.max_replicas:
            problems.add(
                ("warm_pool",),
                f"min_replicas + warm_pool ({self.min_replicas} + {self.warm_pool}) must not exceed "
                f"max_replicas ({self.max_replicas}): the warm pool is headroom inside the ceiling",
                self.warm_pool,
            )
        if self.scale_up_window_s >= self.scale_down_window_s:
            problems.add(
                ("scale_up_window_s",),
                f"scale_up_window_s ({self.scale_up_window_s}) must be shorter than "
                f"scale_down_window_s ({self.scale_down_window_s}): scale out fast, scale in slowly",
                self.scale_up_window_s,
            )
        if "idle_timeout_s" in self.model_fields_set and not self.scale_to_zero:
            problems.add(
                ("idle_timeout_s",),
                "idle_timeout_s only applies with scale_to_zero: true",
                self.idle_timeout_s,
            )
        self._combined_rules(problems)
        self._schedule_rules(problems)
        problems.raise_if_any()
        return self

    def _combined_rules(self, problems: Problems) -> None:
        if self.combined is None:
            return
        for name in ("signal", "target"):
            if name in self.model_fields_set:
                problems.add(
                    (name,),
                    f"{name} does not apply with combined: its running_per_replica and queue_per_replica "
                    "are the per-replica targets",
                    getattr(self, name),
                )
        if self.scale_to_zero:
            problems.add(
                ("combined",),
                "combined cannot be used with scale_to_zero: KEDA folds every trigger into the formula, "
                "including the HTTP add-on's wake-up trigger; use one signal for a model that idles at zero",
            )

    def _schedule_rules(self, problems: Problems) -> None:
        if self.schedule is None:
            return
        for index, window in enumerate(self.schedule.windows):
            where = ("schedule", "windows", index, "min_replicas")
            if window.min_replicas <= self.min_replicas:
                problems.add(
                    where,
                    f"the window's min_replicas ({window.min_replicas}) must be above the policy's "
                    f"min_replicas ({self.min_replicas}): a lower floor changes nothing",
                    window.min_replicas,
                )
            elif window.min_replicas + self.warm_pool > self.max_replicas:
                extra = f" + warm_pool ({window.min_replicas} + {self.warm_pool})" if self.warm_pool else f" ({window.min_replicas})"
                problems.add(
                    where,
                    f"the window's min_replicas{extra} must not exceed max_replicas ({self.max_replicas})",
                    window.min_replicas,
                )

    def floor_at(self, minute_of_day: float, weekday: int = 0) -> int:
        """Replicas the policy holds at least at a minute of the day of `weekday`, Monday 0
        (schedule included)."""
        scheduled = self.schedule.floor_at(minute_of_day, weekday) if self.schedule is not None else 0
        return max(self.min_replicas, scheduled)
