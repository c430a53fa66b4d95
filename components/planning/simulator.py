"""Autoscaling simulator: replays a request trace against one model's controller on its
target, second by second, and measures what clients and the bill would see.

Each second: the controller reads the probe (what Prometheus or CloudWatch would show) and
sets the wanted replicas; the fleet turns that into capacity with the target's delays
(fleet.py); the runtime's server model serves the second's requests on the ready replicas
(vllm_server.py: continuous batching with chunked prefill; triton_server.py: a fluid dynamic
batcher); the recorder judges every request against the SLO and keeps the series
(recorder.py); the probe turns the second into the metrics the controller reads next
(probe.py).

Deterministic: the trace carries the randomness (its seed); the simulation has none.
"""
from __future__ import annotations

import math

from components.intent.cluster import GpuNodePool
from components.intent.model import ModelSpec
from components.intent.slo import Slo
from components.planning import platform
from components.planning.capacity import DEFAULT_WORKLOAD, ServiceModel, Workload
from components.planning.controllers import Controller, OpeningLoad
from components.planning.fleet import MIN_BILLED_S, EksFleet, Fleet, InstanceFleet
from components.planning.probe import DT, Probe
from components.planning.recorder import Recorder, Result, Series
from components.planning.traces import Trace
from components.planning.triton_server import TritonServer
from components.planning.vllm_server import VllmServer

__all__ = ["DRAIN_S", "DT", "MIN_BILLED_S", "Result", "Series", "Simulation", "slo_summary"]

# After the trace ends, requests still in the system get this long to finish.
DRAIN_S = platform.REQUEST_TIMEOUT_S
# Idle stretches shorter than this are run second by second: a skip costs more than that.
MIN_SKIP_S = 3 * DT


def prefix_affinity(model: ModelSpec) -> bool:
    """Whether the model's requests reach the replica holding their prefix (the endpoint picker)."""
    return model.routing.balancer == "endpoint_picker"


class Simulation:
    """One run: one model, one controller, one trace."""

    def __init__(
        self,
        model: ModelSpec,
        target: str,
        controller: Controller,
        trace: Trace,
        service: ServiceModel,
        timings: platform.Timings,
        usd_per_replica_hour: float,
        usd_per_node_hour: float,
        pool: GpuNodePool | None = None,
        node_gpus: int = 1,
        instant: bool = False,
        workload: Workload = DEFAULT_WORKLOAD,
        opening: OpeningLoad | None = None,
        abandon_below: float | None = None,
        skip_idle: bool = True,
    ) -> None:
        """`abandon_below`: stop as soon as so many requests have missed the SLO that the
        run's attainment can no longer reach this share (the tuner's failing candidates: the
        Result then says `abandoned`, and its attainment is below the share, not exact).
        `skip_idle`: jump over seconds in which nothing can happen (`_skip_idle`); the
        result is the same either way, to the last bit."""
        self.skip = skip_idle
        self.opening = opening
        self.abandon_below = abandon_below
        self.model, self.controller, self.service, self.slo = model, controller, service, model.slo
        # vLLM refuses a prompt of max_model_len tokens or more; the rest are cut so prompt and
        # output fit the context, as the server caps the output.
        refused = trace.refused(model.vllm.max_model_len) if model.vllm is not None else None
        self.trace = trace.clipped(model.vllm.max_model_len) if model.vllm is not None else trace
        self.workload = workload
        self.recorder = Recorder(model.slo)
        self.probe = Probe(service.runtime, platform.cpu_request(model))
        self.server: VllmServer | TritonServer = (
            VllmServer(self.trace, service, workload, self.recorder, prefix_affinity=prefix_affinity(model), refused=refused)
            if service.runtime == "vllm"
            else TritonServer(self.trace, service, self.recorder)
        )
        replica = self.server.replica
        policy = model.autoscaling
        ceiling = policy.max_replicas + max(policy.warm_pool, controller.placeholders, controller.spare_instances)
        if instant or target == "sagemaker":
            self.fleet: Fleet = InstanceFleet(
                timings, model.gpus, usd_per_replica_hour, controller.spare_instances,
                max_replicas=10_000 if instant else policy.max_replicas, instant=instant, replica=replica,
            )
        else:
            slots = max(1, node_gpus // model.gpus)
            max_nodes = math.ceil(ceiling / slots) * math.ceil(model.gpus / node_gpus)
            if pool is not None:
                max_nodes = min(pool.max_size, max(max_nodes, pool.min_size))
            self.fleet = EksFleet(
                timings, model.gpus, node_gpus, usd_per_node_hour,
                min_nodes=pool.min_size if pool is not None else 0, max_nodes=max_nodes,
                placeholders=controller.placeholders, replica=replica,
            )

    def _quiet_until(self, t: float) -> float:
        """The first second from `t` on at which anything but the controller may act: a
        request arrives or is still served, or the fleet has a start or a node removal due.
        The server answers first: it refuses at once while requests come every second."""
        until = self.server.quiet_until(t, self.fleet.replicas)
        if until < t + MIN_SKIP_S:
            return t
        return min(until, self.fleet.quiet_until(t))

    def _skip_idle(self, t: float, wanted: int, last_start: float) -> tuple[float, int | None]:
        """Runs the idle seconds from `t` on without serving them: between its wake times the
        controller keeps `wanted` (quiet_until), at each it decides as in any second, and
        every series and sum gets what the seconds add. Returns the first second to run in
        full, with the controller's decision for it where it already took one (a change)."""
        # Seconds stay floats, as the per-second loop's are.
        until = float(math.floor(min(self._quiet_until(t), last_start)))
        if until < t + MIN_SKIP_S:
            return t, None
        controller, probe, fleet = self.controller, self.probe, self.fleet
        # Constant over the stretch: nothing becomes ready or stops draining before `until`.
        ready = fleet.ready(t + DT)
        waiting = self.server.waiting()
        if probe.waiting() != waiting or probe.running() != 0 or probe.ready() != ready:
            # The first second would decide on the last one's gauges, which differ from the
            # stretch's (requests dropped at their timeout were still counted waiting).
            return t, None
        now, decided = t, None
        while now < until:
            probe.t = now
            wake = float(math.floor(min(until, controller.quiet_until(probe, wanted))))
            if wake > now:
                probe.observe_idle(int(wake - now), waiting, ready)
                now = wake
                continue
            decided = controller.decide(probe, wanted)
            if decided != wanted:
                break
            decided = None
            probe.observe_idle(1, waiting, ready)
            now += DT
        if now > t:
            seconds = int(now - t)
            fleet.skip_idle(t, seconds)
            self.server.skip_idle(t, seconds, fleet.replicas)
            self.recorder.idle_seconds(t, seconds, ready, wanted, waiting, self.server.nothing_arrived, fleet.billed_gpus())
        probe.t = now
        return now, decided

    @property
    def series(self) -> Series:
        return self.recorder.series

    def run(self) -> Result:
        controller, fleet, probe, server, recorder = self.controller, self.fleet, self.probe, self.server, self.recorder
        horizon = self.trace.duration_s + DRAIN_S
        t = 0.0
        wanted = controller.initial(probe, self.opening)
        fleet.bootstrap(wanted)
        allowed_misses = math.inf if self.abandon_below is None else (1 - self.abandon_below) * server.requests
        abandoned = False
        # The first second after which the break below ends the run once the model is idle:
        # a skip stops before it.
        last_start = max(0.0, math.ceil(self.trace.duration_s - DT))
        while t < horizon:
            decided = None
            if self.skip:
                t, decided = self._skip_idle(t, wanted, last_start)
            probe.t = t
            end = t + DT
            # The controller's own last decision is the scale target's replica count.
            decision = controller.decide(probe, wanted) if decided is None else decided
            if decision != wanted:
                fleet.reconcile(t, decision)
            wanted = decision
            fleet.tick(t)
            arrived = server.arrive(t, end)
            accepting = [r for r in fleet.replicas if not r.draining and r.ready_at < end]
            completed_before = recorder.completed
            running, waiting = server.serve(fleet.replicas, accepting, t, end)
            for replica in [r for r in fleet.replicas if r.draining and server.drained(r)]:
                fleet.retire(replica, end)
            ready = fleet.ready(end)
            busy = server.busy(fleet.replicas, end, ready, running)
            probe.observe(arrived, recorder.completed - completed_before, waiting, running, ready, busy)
            recorder.second(t, end, ready, wanted, waiting, arrived, fleet.billed_gpus())
            t = end
            if recorder.misses > allowed_misses:
                abandoned = True
                break
            if t >= self.trace.duration_s and server.all_arrived() and waiting == 0 and running == 0:
                break
        fleet.close(t)
        lost, never_started = server.lost()
        return recorder.result(
            policy=controller.name,
            description=controller.description,
            requests=server.requests,
            duration_s=self.trace.duration_s,
            lost=lost,
            never_started=never_started,
            streamed=server.streamed,
            ended_at=t,
            gpu_seconds=fleet.gpu_seconds,
            cost_usd=fleet.cost_usd,
            abandoned=abandoned,
        )


def slo_summary(slo: Slo) -> str:
    parts = []
    if slo.ttft_p99_ms is not None:
        parts.append(f"TTFT ≤ {slo.ttft_p99_ms} ms")
    if slo.tpot_p99_ms is not None:
        parts.append(f"TPOT ≤ {slo.tpot_p99_ms} ms")
    if slo.latency_p99_ms is not None:
        parts.append(f"latency ≤ {slo.latency_p99_ms} ms")
    return ", ".join(parts)
