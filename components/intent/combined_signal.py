"""A combined load signal: the replicas' worth of load in the batch and in the queue, summed.

Queue depth alone says nothing while the queue is empty, so a queue-depth policy sheds
replicas a full batch still needs and scales out only once requests wait; requests in
flight alone treat a waiting request like a running one. The sum keeps the replicas the
running batch fills and adds one for every `queue_per_replica` requests waiting:

    desired replicas = ceil(waiting / queue_per_replica + running / running_per_replica)

EKS compiles it to KEDA's `advanced.scalingModifiers` (a formula over two named Prometheus
triggers, AverageValue against a target of 1). SageMaker publishes no queue depth.
"""
from __future__ import annotations

from pydantic import Field

from components.intent.base import Spec


class CombinedSignal(Spec):
    """Per-replica capacities of the two terms of the combined signal."""

    running_per_replica: float = Field(
        gt=0,
        le=10_000,
        description=(
            "Requests one replica runs at its capacity (vllm:num_requests_running; for Triton the "
            "requests in the server by Little's law): the batch a replica should carry."
        ),
    )
    queue_per_replica: float = Field(
        gt=0,
        le=10_000,
        description=(
            "Waiting requests that ask for one more replica (vllm:num_requests_waiting, "
            "nv_inference_pending_request_count): lower scales out sooner when a queue forms."
        ),
    )

    def replicas_worth(self, waiting: float, running: float) -> float:
        """The formula KEDA evaluates (components/compilers/keda.py writes the same terms)."""
        return waiting / self.queue_per_replica + running / self.running_per_replica
