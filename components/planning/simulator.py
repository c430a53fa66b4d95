"""Autoscaling simulator: replays a request trace against one model's controller on its
target, second by second, and measures what clients and the bill would see.

Per second: the controller reads what Prometheus or CloudWatch would show and sets the
wanted replicas; the platform turns that into capacity with its delays (EKS: pods, GPU nodes
from the Cluster Autoscaler, image pulls, warm-pool placeholders; SageMaker: instances);
replicas serve. A vLLM replica is a continuous batch: requests take free slots (bounded by
max_num_seqs and the KV cache), prefill one after another on the GPU, then decode together
at the step time the capacity planner gives for the batch size. A Triton replica is modelled
as a fluid dynamic batcher (its requests are too many and too short to replay one by one).
Requests wait in one queue in front of the ready replicas (what least-outstanding-requests
routing approximates) and give up after the proxies' request timeout.

Deterministic: the trace carries the randomness (its seed); the simulation has none.
"""
from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from components.intent.cluster import GpuNodePool
from components.intent.model import ModelSpec
from components.intent.slo import Slo
from components.planning import platform
from components.planning.capacity import DEFAULT_WORKLOAD, ServiceModel, Workload
from components.planning.controllers import Controller, OpeningLoad, cpu_cores
from components.planning.traces import Trace

DT = 1.0
# After the trace ends, requests still in the system get this long to finish.
DRAIN_S = platform.REQUEST_TIMEOUT_S
# EC2 bills per second with a 60 s minimum (performance-facts §5).
MIN_BILLED_S = 60.0
SERIES = ("arrivals", "completions", "inflight", "ready", "cpu")


@dataclass
class Series:
    """Per-second samples of one run, for the plot and the controllers' probe."""

    t: list[float] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    wanted: list[int] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    gpus_billed: list[float] = field(default_factory=list)
    # TTFT (vLLM) or latency (Triton) p99 per minute of first tokens, NaN without any.
    ttft_p99_per_minute: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    policy: str
    description: str
    requests: int
    good: int
    completed: int
    timed_out: int
    duration_s: float
    ttft_p50_s: float
    ttft_p99_s: float
    latency_p99_s: float
    gpu_hours: float
    cost_usd: float
    peak_replicas: int
    mean_replicas: float
    series: Series

    @property
    def attainment(self) -> float:
        return self.good / self.requests if self.requests else 1.0

    @property
    def goodput_rps(self) -> float:
        return self.good / self.duration_s if self.duration_s else 0.0


class _Probe:
    """The controllers' view: per-second series with cumulative sums for windows."""

    def __init__(self) -> None:
        self.t = 0.0
        self._waiting = 0.0
        self._running = 0.0
        self._ready = 0
        self.cumulative: dict[str, list[float]] = {name: [0.0] for name in SERIES}

    def waiting(self) -> float:
        return self._waiting

    def running(self) -> float:
        return self._running

    def ready(self) -> int:
        return self._ready

    def record(self, values: dict[str, float]) -> None:
        for name in SERIES:
            column = self.cumulative[name]
            column.append(column[-1] + values[name])

    def window(self, series: str, start: float, end: float) -> float:
        column = self.cumulative[series]
        last = len(column) - 1
        lo = min(last, max(0, int(math.floor(start / DT))))
        hi = min(last, max(0, int(math.floor(end / DT))))
        return column[hi] - column[lo]


class _Replica:
    __slots__ = ("ready_at", "draining", "node", "heap", "pending", "progress", "n", "kv",
                 "prefill_free", "free_times", "free_counts", "free_head", "started_at", "rate",
                 "mixed_rate", "second", "busy", "progress_start")

    def __init__(self, ready_at: float, started_at: float, node: _Node | None = None) -> None:
        self.ready_at = ready_at
        self.started_at = started_at
        self.draining = False
        self.node = node
        self.heap: list[tuple[float, int]] = []
        self.pending: list[tuple[float, int]] = []
        self.progress = 0.0
        self.n = 0
        self.kv = 0
        self.prefill_free = 0.0
        self.free_times: list[float] = []
        self.free_counts: list[int] = []
        self.free_head = 0
        # Tokens per second each running sequence gets in the current second: in plain decode
        # steps, and in steps shared with prefill chunks (for `busy` seconds from `second`).
        self.rate = 1.0
        self.mixed_rate = 1.0
        self.second = 0.0
        self.busy = 0.0
        self.progress_start = 0.0


class _Node:
    __slots__ = ("ready_at", "launched_at", "slots", "used", "placeholders", "image_cached", "served", "idle_since", "ended_at")

    def __init__(self, launched_at: float, ready_at: float, slots: int) -> None:
        self.launched_at = launched_at
        self.ready_at = ready_at
        self.slots = slots
        self.used = 0
        self.placeholders = 0
        self.image_cached = False
        # Has run this model: its node cache (compile_cache node) is warm.
        self.served = False
        self.idle_since = ready_at
        self.ended_at: float | None = None

    @property
    def free(self) -> int:
        return self.slots - self.used - self.placeholders


class _Fleet:
    """Turns wanted replicas into replicas, with the target's delays, and bills it."""

    def __init__(self, timings: platform.Timings, gpus_per_replica: int, usd_per_gpu_hour: float) -> None:
        self.timings = timings
        self.gpus = gpus_per_replica
        self.usd_per_gpu_s = usd_per_gpu_hour / 3600
        self.replicas: list[_Replica] = []
        self.gpu_seconds = 0.0

    def active(self) -> list[_Replica]:
        return [r for r in self.replicas if not r.draining]

    def reconcile(self, t: float, wanted: int) -> None:
        raise NotImplementedError

    def bootstrap(self, replicas: int) -> None:
        """The state before the trace starts: `replicas` ready and serving."""
        raise NotImplementedError

    def tick(self, t: float) -> None:
        """Advance provisioning by one second and bill it."""
        raise NotImplementedError

    def retire(self, replica: _Replica, t: float) -> None:
        self.replicas.remove(replica)

    def close(self, t: float) -> None:
        """Bill what is still running at the end (and every start's 60 s minimum)."""

    def _shrink(self, t: float, excess: int) -> None:
        """Stop the newest starting replicas first, then drain the least loaded ready ones."""
        starting = sorted((r for r in self.active() if r.ready_at > t), key=lambda r: -r.started_at)
        ready = sorted((r for r in self.active() if r.ready_at <= t), key=lambda r: r.n)
        for replica in (starting + ready)[:excess]:
            replica.draining = True


class _EksFleet(_Fleet):
    """Pods on GPU nodes: the Cluster Autoscaler adds nodes for pods that cannot be placed and
    removes nodes left empty; warm-pool placeholders hold GPUs with the image pulled."""

    def __init__(self, timings: platform.Timings, gpus_per_replica: int, node_gpus: int, usd_per_node_hour: float,
                 min_nodes: int, max_nodes: int, placeholders: int) -> None:
        super().__init__(timings, gpus_per_replica, usd_per_node_hour / node_gpus)
        self.slots_per_node = max(1, node_gpus // gpus_per_replica)
        self.node_gpus = node_gpus
        self.usd_per_node_s = usd_per_node_hour / 3600
        self.min_nodes, self.max_nodes = min_nodes, max_nodes
        self.nodes: list[_Node] = []
        self.pending = 0
        self.pending_placeholders = placeholders
        self.warm_nodes = timings.warm_nodes
        self.next_scan = 0.0
        self.billed_node_s = 0.0
        for _ in range(min_nodes):
            self.nodes.append(_Node(0.0, 0.0, self.slots_per_node))

    def bootstrap(self, replicas: int) -> None:
        needed = math.ceil((replicas + self.pending_placeholders) / self.slots_per_node)
        for _ in range(max(0, min(self.max_nodes, needed) - len(self.nodes))):
            self.nodes.append(_Node(0.0, 0.0, self.slots_per_node))
        for node in self.nodes:
            node.image_cached = True
        for _ in range(replicas):
            node = next((n for n in self.nodes if n.free), None)
            if node is None:
                self.pending += 1
                continue
            node.used += 1
            node.served = True
            self.replicas.append(_Replica(0.0, 0.0, node))
        self._place(0.0)

    def reconcile(self, t: float, wanted: int) -> None:
        have = len(self.active()) + self.pending
        if wanted > have:
            self.pending += wanted - have
        elif wanted < have:
            excess = have - wanted
            dropped = min(self.pending, excess)
            self.pending -= dropped
            if excess > dropped:
                self._shrink(t, excess - dropped)

    def _place(self, t: float) -> None:
        ready_nodes = [n for n in self.nodes if n.ended_at is None and n.ready_at <= t]
        while self.pending:
            node = next((n for n in ready_nodes if n.free and n.image_cached), None)
            if node is None:
                node = next((n for n in ready_nodes if n.placeholders), None)
                if node is not None:
                    node.placeholders -= 1
                    self.pending_placeholders += 1
            if node is None:
                node = next((n for n in ready_nodes if n.free), None)
            if node is None:
                break
            if not node.image_cached:
                start = self.timings.on_ready_node_s
            else:
                start = self.timings.on_served_node_s if node.served else self.timings.on_warm_slot_s
            node.used += 1
            node.image_cached = node.served = True
            self.pending -= 1
            self.replicas.append(_Replica(t + start, t, node))
        while self.pending_placeholders:
            node = next((n for n in ready_nodes if n.free), None)
            if node is None:
                break
            node.placeholders += 1
            self.pending_placeholders -= 1
            # The placeholder's init container pulls the serving image.
            node.image_cached = True

    def _scan(self, t: float) -> None:
        """Cluster Autoscaler: nodes for what cannot be placed, empty nodes removed."""
        live = [n for n in self.nodes if n.ended_at is None]
        coming = sum(n.free for n in live if n.ready_at > t)
        unplaced = self.pending + self.pending_placeholders - coming
        if unplaced > 0:
            room = self.max_nodes - len(live)
            for _ in range(min(room, math.ceil(unplaced / self.slots_per_node))):
                if self.warm_nodes and self.timings.warm_node_start_s is not None:
                    self.warm_nodes -= 1
                    delay = self.timings.warm_node_start_s
                else:
                    delay = self.timings.node_provision_s
                self.nodes.append(_Node(t, t + delay, self.slots_per_node))
        live = [n for n in self.nodes if n.ended_at is None]
        removable = len(live) - self.min_nodes
        for node in live:
            if removable <= 0:
                break
            empty = node.used == 0 and node.placeholders == 0 and node.ready_at <= t
            if empty and t - node.idle_since >= platform.CA_SCALE_DOWN_UNNEEDED_S:
                node.ended_at = t
                removable -= 1
                self._bill_node(node)

    def _bill_node(self, node: _Node) -> None:
        assert node.ended_at is not None
        seconds = max(MIN_BILLED_S, node.ended_at - node.launched_at)
        self.billed_node_s += seconds

    def tick(self, t: float) -> None:
        if t >= self.next_scan:
            self._scan(t)
            self.next_scan = t + platform.CA_SCAN_S
        self._place(t)

    def retire(self, replica: _Replica, t: float) -> None:
        super().retire(replica, t)
        node = replica.node
        if node is not None:
            node.used -= 1
            if node.used == 0 and node.placeholders == 0:
                node.idle_since = t

    def billed_gpus(self) -> float:
        return sum(self.node_gpus for n in self.nodes if n.ended_at is None)

    def close(self, t: float) -> None:
        for node in self.nodes:
            if node.ended_at is None:
                node.ended_at = t
                self._bill_node(node)
        self.gpu_seconds = self.billed_node_s * self.node_gpus

    @property
    def cost_usd(self) -> float:
        return self.billed_node_s * self.usd_per_node_s


class _InstanceFleet(_Fleet):
    """SageMaker instances (one replica each, billed from launch), or with `instant` the
    oracle's replicas: ready at once and billed only while they exist."""

    def __init__(self, timings: platform.Timings, gpus_per_replica: int, usd_per_replica_hour: float,
                 spare: int = 0, max_replicas: int = 10_000, instant: bool = False) -> None:
        super().__init__(timings, gpus_per_replica, usd_per_replica_hour / gpus_per_replica)
        self.spare, self.max_replicas, self.instant = spare, max_replicas, instant
        self.launched: dict[int, float] = {}
        self.billed_s = 0.0
        self.usd_per_replica_s = usd_per_replica_hour / 3600

    def reconcile(self, t: float, wanted: int) -> None:
        wanted = min(self.max_replicas, wanted + self.spare)
        active = self.active()
        if wanted > len(active):
            delay = 0.0 if self.instant else self.timings.cold_s
            for _ in range(wanted - len(active)):
                replica = _Replica(t + delay, t)
                self.launched[id(replica)] = t
                self.replicas.append(replica)
        elif wanted < len(active):
            self._shrink(t, len(active) - wanted)

    def tick(self, t: float) -> None:
        return None

    def bootstrap(self, replicas: int) -> None:
        for _ in range(min(self.max_replicas, replicas + self.spare)):
            replica = _Replica(0.0, 0.0)
            self.launched[id(replica)] = 0.0
            self.replicas.append(replica)

    def retire(self, replica: _Replica, t: float) -> None:
        super().retire(replica, t)
        self._bill(self.launched.pop(id(replica)), t)

    def _bill(self, launched: float, t: float) -> None:
        seconds = t - launched
        self.billed_s += seconds if self.instant else max(MIN_BILLED_S, seconds)

    def billed_gpus(self) -> float:
        return len(self.replicas) * self.gpus

    def close(self, t: float) -> None:
        for replica in list(self.replicas):
            self._bill(self.launched.pop(id(replica)), t)
        self.gpu_seconds = self.billed_s * self.gpus

    @property
    def cost_usd(self) -> float:
        return self.billed_s * self.usd_per_replica_s


def _percentile(samples: list[tuple[float, int]], q: float) -> float:
    """Weighted percentile of (value, weight) samples; inf when there are none."""
    if not samples:
        return math.inf
    data = np.array(samples, dtype=float)
    order = np.argsort(data[:, 0], kind="stable")
    values, seen = data[order, 0], np.cumsum(data[order, 1])
    at = int(np.searchsorted(seen, q * seen[-1], side="left"))
    return float(values[min(at, len(values) - 1)])


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
    ) -> None:
        self.opening = opening
        self.model, self.controller, self.service, self.slo = model, controller, service, model.slo
        self.trace = trace.clipped(model.vllm.max_model_len) if model.vllm is not None else trace
        self.workload = workload
        self.probe = _Probe()
        self.series = Series()
        policy = model.autoscaling
        ceiling = policy.max_replicas + max(policy.warm_pool, controller.placeholders, controller.spare_instances)
        if instant or target == "sagemaker":
            self.fleet: _Fleet = _InstanceFleet(
                timings, model.gpus, usd_per_replica_hour, controller.spare_instances,
                max_replicas=10_000 if instant else policy.max_replicas, instant=instant,
            )
        else:
            slots = max(1, node_gpus // model.gpus)
            max_nodes = math.ceil(ceiling / slots)
            if pool is not None:
                max_nodes = min(pool.max_size, max(max_nodes, pool.min_size))
            self.fleet = _EksFleet(
                timings, model.gpus, node_gpus, usd_per_node_hour,
                min_nodes=pool.min_size if pool is not None else 0, max_nodes=max_nodes,
                placeholders=controller.placeholders,
            )
        # Request state, by arrival index.
        count = len(self.trace.arrivals)
        self.first_token = [math.nan] * count
        self.finished = [math.nan] * count
        self.queue: deque[int] = deque()
        self.next_arrival = 0
        self.sequence = 0
        self.latency_samples: list[tuple[float, int]] = []
        self.ttft_samples: list[tuple[float, int]] = []
        self.good = 0
        self.completed = 0
        self.timed_out = 0
        self.minute_ttft: list[tuple[float, int]] = []
        # Triton (fluid): queued cohorts of [arrival second, requests], and their total.
        self.cohorts: deque[list[float]] = deque()
        self.queued = 0.0

    # -- serving -------------------------------------------------------------------------
    def _finish(self, index: int, when: float) -> None:
        weight = self.trace.weight
        self.finished[index] = when
        arrival = self.trace.arrivals[index]
        ttft = self.first_token[index] - arrival
        latency = when - arrival
        output = self.trace.outputs[index]
        tpot = (when - self.first_token[index]) / (output - 1) if output > 1 else 0.0
        slo = self.slo
        ok = (
            (slo.ttft_p99_ms is None or ttft * 1000 <= slo.ttft_p99_ms)
            and (slo.tpot_p99_ms is None or tpot * 1000 <= slo.tpot_p99_ms)
            and (slo.latency_p99_ms is None or latency * 1000 <= slo.latency_p99_ms)
        )
        self.completed += weight
        if ok:
            self.good += weight
        self.latency_samples.append((latency, weight))

    def _record_first_token(self, index: int, when: float) -> None:
        self.first_token[index] = when
        ttft = when - self.trace.arrivals[index]
        self.ttft_samples.append((ttft, self.trace.weight))
        self.minute_ttft.append((ttft, self.trace.weight))

    @staticmethod
    def _progress_at(replica: _Replica, when: float) -> float:
        """Decode progress (tokens per running sequence) at `when` within the current second:
        mixed steps while prefill chunks are queued, plain decode steps after."""
        elapsed = when - replica.second
        if elapsed <= 0.0:
            return replica.progress_start
        mixed = elapsed if elapsed < replica.busy else replica.busy
        return replica.progress_start + mixed * replica.mixed_rate + (elapsed - mixed) * replica.rate

    @staticmethod
    def _time_at(replica: _Replica, progress: float) -> float:
        ahead = progress - replica.progress_start
        during = replica.busy * replica.mixed_rate
        if ahead <= during:
            return replica.second + ahead / replica.mixed_rate
        return replica.second + replica.busy + (ahead - during) / replica.rate

    def _serve_vllm(self, replica: _Replica, t: float, end: float) -> None:
        service, ctx = self.service, self.workload.mean_context
        start_n = replica.n
        replica.free_times, replica.free_counts, replica.free_head = [], [], 0
        available = max(t, replica.ready_at)
        if replica.ready_at < end and not replica.draining and service.slots > start_n:
            replica.free_times.append(available)
            replica.free_counts.append(service.slots - start_n)
        batch = max(1, start_n)
        replica.rate = 1.0 / service.step_s(batch, ctx)
        replica.mixed_rate = 1.0 / service.mixed_step_s(batch, ctx)
        replica.second = t
        replica.progress_start = replica.progress
        # The part of this second with prefill chunks queued (vLLM V1 mixes them with decodes).
        replica.busy = min(end, max(t, replica.prefill_free)) - t
        if replica.pending:
            still = []
            for first, index in replica.pending:
                if first < end:
                    start = self._progress_at(replica, max(t, first))
                    heapq.heappush(replica.heap, (start + self.trace.outputs[index] - 1, index))
                else:
                    still.append((first, index))
            replica.pending = still
        progress_end = self._progress_at(replica, end)
        weight = self.trace.weight
        while replica.heap and replica.heap[0][0] <= progress_end:
            target, index = heapq.heappop(replica.heap)
            when = max(self.first_token[index], self._time_at(replica, target))
            self._finish(index, when)
            replica.n -= weight
            replica.kv -= weight * (self.trace.prompts[index] + self.trace.outputs[index])
            if not replica.draining:
                replica.free_times.append(when)
                replica.free_counts.append(weight)
        replica.progress = progress_end

    def _admit_vllm(self, replica: _Replica, index: int, when: float, end: float) -> None:
        service, weight = self.service, self.trace.weight
        prompt, output = self.trace.prompts[index], self.trace.outputs[index]
        ctx = self.workload.mean_context
        replica.n += weight
        replica.kv += weight * (prompt + output)
        # A prefix-cache hit skips the prefill of the tokens the cache already holds; the rest
        # runs in chunks beside the running decodes (vLLM V1 chunked prefill).
        computed = prompt - (self.trace.cached[index] if self.trace.cached is not None else 0)
        prefill = service.prefill_s(computed) * service.prefill_stretch(replica.n, ctx)
        begin = max(when, replica.prefill_free)
        replica.prefill_free = begin + weight * prefill
        # The requests of a weighted arrival would have come one after another: each waits
        # for its own prefill, not for the whole group's (the GPU time is still spent).
        first = begin + prefill + service.step_s(replica.n, ctx)
        self._record_first_token(index, first)
        if first >= end:
            replica.pending.append((first, index))
            return
        # The first token came within this second: decode from then on, as the others did.
        key = self._progress_at(replica, first) + output - 1
        if key <= replica.progress:
            done = max(first, self._time_at(replica, key))
            self._finish(index, done)
            replica.n -= weight
            replica.kv -= weight * (prompt + output)
            self._give_slots(replica, done, weight)
        else:
            heapq.heappush(replica.heap, (key, index))

    @staticmethod
    def _give_slots(replica: _Replica, when: float, count: int) -> None:
        at = bisect.bisect_right(replica.free_times, when, lo=replica.free_head)
        replica.free_times.insert(at, when)
        replica.free_counts.insert(at, count)

    def _slot_time(self, replica: _Replica, weight: int) -> float | None:
        """When `weight` free slots are available on the replica in this second."""
        seen = 0
        for i in range(replica.free_head, len(replica.free_times)):
            seen += replica.free_counts[i]
            if seen >= weight:
                return replica.free_times[i]
        return None

    def _take_slots(self, replica: _Replica, weight: int) -> None:
        while weight:
            i = replica.free_head
            take = min(weight, replica.free_counts[i])
            replica.free_counts[i] -= take
            weight -= take
            if replica.free_counts[i] == 0:
                replica.free_head += 1

    def _dispatch_vllm(self, accepting: list[_Replica], end: float) -> None:
        trace, weight, kv_limit = self.trace, self.trace.weight, self.service.kv_tokens
        while self.queue:
            index = self.queue[0]
            arrival = trace.arrivals[index]
            need = weight * (trace.prompts[index] + trace.outputs[index])
            best, best_time = None, end
            for replica in accepting:
                if replica.kv + need > kv_limit and replica.n:
                    continue
                head = replica.free_head
                # Fast path: the earliest free slot alone holds the arrival (weight 1).
                if head < len(replica.free_counts) and replica.free_counts[head] >= weight:
                    at = replica.free_times[head]
                else:
                    found = self._slot_time(replica, weight)
                    if found is None:
                        continue
                    at = found
                if at < arrival:
                    at = arrival
                if at < best_time or (at == best_time and best is not None and replica.n < best.n):
                    best, best_time = replica, at
            if best is None:
                break
            self.queue.popleft()
            self._take_slots(best, weight)
            self._admit_vllm(best, index, best_time, end)

    def _serve_triton(self, accepting: list[_Replica], t: float, end: float, offered: float) -> float:
        """Fluid dynamic batching over FIFO cohorts; returns the requests in service.

        The batch size follows the offered load (b / (base + per_item x b) = load per model
        instance) up to max_batch_size; capacity is max_batch_size per batch latency."""
        service = self.service
        ready = sum(min(1.0, max(0.0, end - max(t, r.ready_at))) for r in accepting)
        if ready <= 0 or self.queued <= 0:
            return 0.0
        instances = ready * service.instances
        base, per_item = service.triton.base_ms / 1000, service.triton.per_item_ms / 1000
        load = offered / instances
        backlog = self.queued - offered > 1e-9
        if backlog or load * per_item >= 1:
            batch = float(service.max_batch)
        else:
            batch = min(float(service.max_batch), max(1.0, load * base / (1 - load * per_item)))
        latency = base + per_item * batch
        capacity = instances * service.max_batch / (base + per_item * service.max_batch)
        left = min(self.queued, capacity)
        done = 0.0
        while left > 1e-9 and self.cohorts:
            cohort = self.cohorts[0]
            take = min(left, cohort[1])
            # Its place in the FIFO line, then half a batch in flight and its own batch.
            position = t + (done + take / 2) / capacity
            total = max(0.0, position - cohort[0]) + 1.5 * latency
            self.latency_samples.append((total, max(1, int(round(take)))))
            self.minute_ttft.append((total, max(1, int(round(take)))))
            self.completed += take
            if self.slo.latency_p99_ms is None or total * 1000 <= self.slo.latency_p99_ms:
                self.good += take
            cohort[1] -= take
            self.queued -= take
            left -= take
            done += take
            if cohort[1] <= 1e-9:
                self.cohorts.popleft()
        return min(done, offered) * latency

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> Result:
        trace, controller, fleet, probe = self.trace, self.controller, self.fleet, self.probe
        vllm = self.service.runtime == "vllm"
        weight = trace.weight
        horizon = trace.duration_s + DRAIN_S
        t = 0.0
        wanted = controller.initial(probe, self.opening)
        fleet.bootstrap(wanted)
        peak, replica_seconds = 0, 0.0
        minute_end = 60.0
        arrivals_total = len(trace.arrivals)
        fluid = [] if vllm else trace.per_second()
        while t < horizon:
            end = t + DT
            probe.t = t
            # The controller's own last decision is the scale target's replica count.
            decision = controller.decide(probe, wanted)
            if decision != wanted:
                fleet.reconcile(t, decision)
            wanted = decision
            fleet.tick(t)
            # Arrivals of this second join the queue.
            arrived = 0
            while self.next_arrival < arrivals_total and trace.arrivals[self.next_arrival] < end:
                if vllm:
                    self.queue.append(self.next_arrival)
                self.next_arrival += 1
                arrived += weight
            offered = 0.0
            if not vllm:
                second = int(t)
                offered = fluid[second] if second < len(fluid) else 0.0
                arrived = offered
                if offered > 0:
                    self.cohorts.append([t + DT / 2, offered])
                    self.queued += offered
            accepting = [r for r in fleet.replicas if not r.draining and r.ready_at < end]
            completed_before = self.completed
            if vllm:
                for replica in fleet.replicas:
                    self._serve_vllm(replica, t, end)
                self._dispatch_vllm(accepting, end)
                running = sum(r.n for r in fleet.replicas)
                waiting = len(self.queue) * weight
                # Requests the proxies gave up on.
                while self.queue and t - trace.arrivals[self.queue[0]] >= platform.REQUEST_TIMEOUT_S:
                    self.queue.popleft()
                    self.timed_out += weight
            else:
                running = self._serve_triton(accepting, t, end, offered)
                while self.cohorts and t - self.cohorts[0][0] >= platform.REQUEST_TIMEOUT_S:
                    lost = self.cohorts.popleft()[1]
                    self.queued -= lost
                    self.timed_out += lost
                waiting = self.queued
            for replica in [r for r in fleet.replicas if r.draining and r.n == 0 and not r.pending]:
                fleet.retire(replica, end)
            ready = sum(1 for r in fleet.replicas if r.ready_at <= end and not r.draining)
            peak = max(peak, ready)
            replica_seconds += ready * DT
            completions = self.completed - completed_before
            busy = sum(1 for r in fleet.replicas if r.n > 0 and r.ready_at <= end) if vllm else (ready if running else 0)
            rps = arrived / DT
            cpu = 0.0
            if ready:
                request = max(1.0, self._cpu_request())
                runtime = self.service.runtime
                cpu = 100 * sum(
                    cpu_cores(runtime, 1 if i < busy else 0, rps / ready) / request for i in range(ready)
                ) / ready
            probe._waiting, probe._running, probe._ready = waiting, running, ready
            probe.record({"arrivals": arrived, "completions": completions, "inflight": waiting + running,
                          "ready": ready, "cpu": cpu})
            series = self.series
            series.t.append(t)
            series.ready.append(ready)
            series.wanted.append(wanted)
            series.waiting.append(waiting)
            series.arrivals.append(arrived)
            series.gpus_billed.append(fleet.billed_gpus())
            if end >= minute_end:
                p99 = _percentile(self.minute_ttft, 0.99) if self.minute_ttft else math.nan
                series.ttft_p99_per_minute.append(p99)
                self.minute_ttft = []
                minute_end += 60.0
            t = end
            if t >= trace.duration_s and self.next_arrival >= arrivals_total and waiting == 0 and running == 0:
                break
        fleet.close(t)
        if vllm:
            unfinished = sum(1 for f in self.finished if math.isnan(f)) * weight - self.timed_out
            lost = unfinished + self.timed_out
            # A request that never got its first token counts as an infinite TTFT.
            missing = sum(1 for f in self.first_token if math.isnan(f)) * weight
            if missing:
                self.ttft_samples.append((math.inf, missing))
        else:
            unfinished = self.queued
            lost = unfinished + self.timed_out
        if lost:
            self.latency_samples.append((math.inf, int(round(lost))))
        requests = trace.requests if vllm else int(round(sum(fluid)))
        duration = trace.duration_s
        return Result(
            policy=controller.name,
            description=controller.description,
            requests=requests,
            good=int(round(self.good)),
            completed=int(round(self.completed)),
            timed_out=int(round(lost)),
            duration_s=duration,
            ttft_p50_s=_percentile(self.ttft_samples if vllm else self.latency_samples, 0.5),
            ttft_p99_s=_percentile(self.ttft_samples if vllm else self.latency_samples, 0.99),
            latency_p99_s=_percentile(self.latency_samples, 0.99),
            gpu_hours=fleet.gpu_seconds / 3600,
            cost_usd=fleet.cost_usd,
            peak_replicas=peak,
            mean_replicas=replica_seconds / max(t, 1.0),
            series=self.series,
        )

    def _cpu_request(self) -> float:
        return platform.cpu_request(self.model)


def slo_summary(slo: Slo) -> str:
    parts = []
    if slo.ttft_p99_ms is not None:
        parts.append(f"TTFT ≤ {slo.ttft_p99_ms} ms")
    if slo.tpot_p99_ms is not None:
        parts.append(f"TPOT ≤ {slo.tpot_p99_ms} ms")
    if slo.latency_p99_ms is not None:
        parts.append(f"latency ≤ {slo.latency_p99_ms} ms")
    return ", ".join(parts)
