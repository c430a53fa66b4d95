"""vLLM's server model: each replica a continuous batch under the V1 scheduler.

Requests take free slots (bounded by max_num_seqs and the KV cache); their prefills run in
chunks under max_num_batched_tokens, mixed with the running decodes (a prefix-cache hit skips
the cached tokens); decodes advance at the step time the capacity planner gives for the
batch. One queue in front of the ready replicas (what least-outstanding-requests routing
approximates) feeds the replica whose slot frees first; the proxies give up after their
request timeout.

Routing changes one thing here: whether a request's shared prefix (the trace's
`cached_tokens`, a prefix an earlier request already sent) is in the cache of the replica it
reaches. The endpoint picker's prefix scorer sends it to the replica holding that prefix, so
the whole prefix is a hit. Plain balancing lands on that replica once in N ready replicas, so
on average 1/N of the prefix is skipped (each prefix taken to live on one replica: for a
prompt every replica has cached, such as one system prompt, this undercounts round robin's hits).
Both send requests by load alike (the one queue above), so the picker's queue and KV scoring
is not what the two differ in here.
"""
from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from functools import reduce
from itertools import repeat
from operator import add

from components.planning import platform
from components.planning.capacity import ServiceModel, Workload
from components.planning.fleet import Node, Replica
from components.planning.recorder import Recorder
from components.planning.traces import Trace


class VllmReplica(Replica):
    __slots__ = ("heap", "pending", "progress", "kv", "prefill_free", "free_times", "free_counts", "free_head",
                 "rate", "mixed_rate", "second", "busy", "progress_start")

    def __init__(self, ready_at: float, started_at: float, node: Node | None = None) -> None:
        super().__init__(ready_at, started_at, node)
        self.heap: list[tuple[float, int]] = []
        self.pending: list[tuple[float, int]] = []
        self.progress = 0.0
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


class VllmServer:
    """The requests of one trace on a fleet of vLLM replicas."""

    replica = VllmReplica
    streamed = True
    # What `arrive` returns for a second without arrivals (the series keep its type).
    nothing_arrived = 0

    def __init__(self, trace: Trace, service: ServiceModel, workload: Workload, recorder: Recorder,
                 prefix_affinity: bool = False, refused: tuple[bool, ...] | None = None) -> None:
        """`refused`: per arrival, whether vLLM answers it with an error at once (a prompt of
        max_model_len tokens or more): it counts as a request that failed, and takes no slot."""
        self.trace, self.service, self.workload, self.recorder = trace, service, workload, recorder
        self.prefix_affinity = prefix_affinity
        self.refused = refused if refused is not None and any(refused) else None
        self.refused_count = sum(refused) * trace.weight if self.refused is not None else 0
        # Share of a request's shared prefix found in its replica's cache (set per dispatch).
        self._hit_share = 1.0
        count = len(trace.arrivals)
        self.first_token = [math.nan] * count
        self.finished = [math.nan] * count
        self.queue: deque[int] = deque()
        self.next_arrival = 0
        # Step times depend only on the batch (the context is the workload's mean): each is
        # computed once per batch size, not once per request.
        self._step: dict[int, float] = {}
        self._mixed: dict[int, float] = {}
        self._stretch: dict[int, float] = {}

    def _step_s(self, batch: int) -> float:
        step = self._step.get(batch)
        if step is None:
            step = self._step[batch] = self.service.step_s(batch, self.workload.mean_context)
        return step

    def _mixed_step_s(self, batch: int) -> float:
        step = self._mixed.get(batch)
        if step is None:
            step = self._mixed[batch] = self.service.mixed_step_s(batch, self.workload.mean_context)
        return step

    def _prefill_stretch(self, batch: int) -> float:
        stretch = self._stretch.get(batch)
        if stretch is None:
            stretch = self._stretch[batch] = self.service.prefill_stretch(batch, self.workload.mean_context)
        return stretch

    @property
    def requests(self) -> int:
        return self.trace.requests

    def arrive(self, t: float, end: float) -> float:
        """The arrivals of [t, end) join the queue; returns how many came."""
        trace, queue = self.trace, self.queue
        arrivals, total, weight = trace.arrivals, len(trace.arrivals), trace.weight
        arrived = 0
        refused = self.refused
        while self.next_arrival < total and arrivals[self.next_arrival] < end:
            if refused is not None and refused[self.next_arrival]:
                self.recorder.refused(weight)
            else:
                queue.append(self.next_arrival)
            self.next_arrival += 1
            arrived += weight
        return arrived

    def all_arrived(self) -> bool:
        return self.next_arrival >= len(self.trace.arrivals)

    def quiet_until(self, t: float, replicas: list[Replica]) -> float:
        """The first second from `t` on at which serving may change anything: the next
        arrival's, the next timeout of a waiting request, or `t` while a request runs or a
        replica could take one. Requests may wait while no replica accepts (all starting):
        they only age, until the fleet's own quiet_until, which ends before a replica is
        ready."""
        arrivals = self.trace.arrivals
        wake = math.floor(arrivals[self.next_arrival]) if self.next_arrival < len(arrivals) else math.inf
        if self.queue:
            wake = min(wake, math.floor(arrivals[self.queue[0]] + platform.REQUEST_TIMEOUT_S) - 1)
        if wake <= t:
            return t
        for replica in replicas:
            if replica.n or replica.pending or replica.heap or replica.prefill_free > t:  # type: ignore[attr-defined]
                return t
            if self.queue and not replica.draining and replica.ready_at < t + 1:
                return t
        return wake

    def waiting(self) -> float:
        return len(self.queue) * self.trace.weight

    def skip_idle(self, t: float, seconds: int, replicas: list[Replica]) -> None:
        """`seconds` idle seconds from `t`: an empty replica's decode clock still runs at the
        one-sequence step, one second at a time as `serve` adds it."""
        rate = 1.0 / self._step_s(1)
        for replica in replicas:
            replica.progress = reduce(add, repeat(rate, seconds), replica.progress)  # type: ignore[attr-defined]

    def serve(self, replicas: list[Replica], accepting: list[Replica], t: float, end: float) -> tuple[float, float]:
        """One second of serving; returns (requests running, requests waiting) as the
        metrics show them, before the proxies drop what waited past their timeout."""
        for replica in replicas:
            self._serve_replica(replica, t, end)  # type: ignore[arg-type]
        self._dispatch(accepting, end)  # type: ignore[arg-type]
        trace, queue = self.trace, self.queue
        running = sum(r.n for r in replicas)
        waiting = self.waiting()
        while queue and t - trace.arrivals[queue[0]] >= platform.REQUEST_TIMEOUT_S:
            queue.popleft()
            self.recorder.gave_up(trace.weight)
        return running, waiting

    @staticmethod
    def busy(replicas: list[Replica], end: float, ready: int, running: float) -> int:
        """Replicas whose engine loop runs sequences (what burns a CPU core)."""
        return sum(1 for r in replicas if r.n > 0 and r.ready_at <= end)

    @staticmethod
    def drained(replica: Replica) -> bool:
        return replica.n == 0 and not replica.pending  # type: ignore[attr-defined]

    def lost(self) -> tuple[float, int]:
        """(requests timed out or never finished, those of them that never got a first token)."""
        weight = self.trace.weight
        timed_out = self.recorder.timed_out
        # A refused request never ran: it is a failure, not a latency.
        refused = self.refused_count
        unfinished = sum(1 for f in self.finished if math.isnan(f)) * weight - timed_out - refused
        never_started = sum(1 for f in self.first_token if math.isnan(f)) * weight - refused
        return unfinished + timed_out, never_started

    def _finish(self, index: int, when: float) -> None:
        self.finished[index] = when
        arrival = self.trace.arrivals[index]
        first = self.first_token[index]
        output = self.trace.outputs[index]
        tpot = (when - first) / (output - 1) if output > 1 else 0.0
        self.recorder.finished(first - arrival, tpot, when - arrival, self.trace.weight)

    def _record_first_token(self, index: int, when: float) -> None:
        self.first_token[index] = when
        self.recorder.first_token(when - self.trace.arrivals[index], self.trace.weight)

    @staticmethod
    def _progress_at(replica: VllmReplica, when: float) -> float:
        """Decode progress (tokens per running sequence) at `when` within the current second:
        mixed steps while prefill chunks are queued, plain decode steps after."""
        elapsed = when - replica.second
        if elapsed <= 0.0:
            return replica.progress_start
        mixed = elapsed if elapsed < replica.busy else replica.busy
        return replica.progress_start + mixed * replica.mixed_rate + (elapsed - mixed) * replica.rate

    @staticmethod
    def _time_at(replica: VllmReplica, progress: float) -> float:
        ahead = progress - replica.progress_start
        during = replica.busy * replica.mixed_rate
        if ahead <= during:
            return replica.second + ahead / replica.mixed_rate
        return replica.second + replica.busy + (ahead - during) / replica.rate

    def _serve_replica(self, replica: VllmReplica, t: float, end: float) -> None:
        service = self.service
        start_n = replica.n
        replica.free_times, replica.free_counts, replica.free_head = [], [], 0
        available = max(t, replica.ready_at)
        if replica.ready_at < end and not replica.draining and service.slots > start_n:
            replica.free_times.append(available)
            replica.free_counts.append(service.slots - start_n)
        batch = max(1, start_n)
        replica.rate = 1.0 / self._step_s(batch)
        replica.mixed_rate = 1.0 / self._mixed_step_s(batch)
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

    def _admit(self, replica: VllmReplica, index: int, when: float, end: float) -> None:
        service, weight = self.service, self.trace.weight
        prompt, output = self.trace.prompts[index], self.trace.outputs[index]
        replica.n += weight
        replica.kv += weight * (prompt + output)
        # A prefix-cache hit skips the prefill of the tokens the cache already holds; the rest
        # runs in chunks beside the running decodes (vLLM V1 chunked prefill).
        cached = self.trace.cached[index] * self._hit_share if self.trace.cached is not None else 0
        computed = prompt - cached
        prefill = service.prefill_s(computed) * self._prefill_stretch(replica.n)
        begin = max(when, replica.prefill_free)
        replica.prefill_free = begin + weight * prefill
        # The requests of a weighted arrival would have come one after another: each waits
        # for its own prefill, not for the whole group's (the GPU time is still spent).
        first = begin + prefill + self._step_s(replica.n)
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
    def _give_slots(replica: VllmReplica, when: float, count: int) -> None:
        at = bisect.bisect_right(replica.free_times, when, lo=replica.free_head)
        replica.free_times.insert(at, when)
        replica.free_counts.insert(at, count)

    def _slot_time(self, replica: VllmReplica, weight: int) -> float | None:
        """When `weight` free slots are available on the replica in this second."""
        seen = 0
        for i in range(replica.free_head, len(replica.free_times)):
            seen += replica.free_counts[i]
            if seen >= weight:
                return replica.free_times[i]
        return None

    def _take_slots(self, replica: VllmReplica, weight: int) -> None:
        while weight:
            i = replica.free_head
            take = min(weight, replica.free_counts[i])
            replica.free_counts[i] -= take
            weight -= take
            if replica.free_counts[i] == 0:
                replica.free_head += 1

    def _dispatch(self, accepting: list[VllmReplica], end: float) -> None:
        trace, weight, kv_limit = self.trace, self.trace.weight, self.service.kv_tokens
        self._hit_share = 1.0 if self.prefix_affinity else 1.0 / max(1, len(accepting))
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
            self._admit(best, index, best_time, end)
