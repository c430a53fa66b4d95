"""Triton's server model: a fluid dynamic batcher per replica.

Its requests are too many and too short to replay one by one, so the trace's intensity is
replayed second by second as FIFO cohorts. The batch size follows the offered load
(b / (base + per_item x b) = load per model instance) up to max_batch_size; capacity is
max_batch_size per batch latency. The proxies give up on a cohort after their request timeout.
"""
from __future__ import annotations

import bisect
import math
from collections import deque

from components.planning import platform
from components.planning.capacity import ServiceModel
from components.planning.fleet import Replica
from components.planning.probe import DT
from components.planning.recorder import Recorder
from components.planning.traces import Trace


class TritonServer:
    """The intensity of one trace on a fleet of Triton replicas."""

    replica = Replica
    streamed = False
    # What `arrive` returns for a second without load (the series keep its type).
    nothing_arrived = 0.0

    def __init__(self, trace: Trace, service: ServiceModel, recorder: Recorder) -> None:
        self.trace, self.service, self.recorder = trace, service, recorder
        self.fluid = trace.per_second()
        # Queued cohorts of [arrival second, requests], and their total.
        self.cohorts: deque[list[float]] = deque()
        self.queued = 0.0
        self.offered = 0.0
        self.next_arrival = 0
        # Seconds of the intensity with load, listed once a replay first skips idle time.
        self._loaded: list[int] | None = None

    @property
    def requests(self) -> int:
        return int(round(sum(self.fluid)))

    def arrive(self, t: float, end: float) -> float:
        """The second's offered load joins the line as one cohort; returns it."""
        arrivals, total = self.trace.arrivals, len(self.trace.arrivals)
        # The arrivals only say when the trace is over; the intensity carries the load.
        while self.next_arrival < total and arrivals[self.next_arrival] < end:
            self.next_arrival += 1
        second = int(t)
        offered = self.fluid[second] if second < len(self.fluid) else 0.0
        self.offered = offered
        if offered > 0:
            self.cohorts.append([t + DT / 2, offered])
            self.queued += offered
        return offered

    def all_arrived(self) -> bool:
        return self.next_arrival >= len(self.trace.arrivals)

    def quiet_until(self, t: float, replicas: list[Replica]) -> float:
        """The first second from `t` on with load: the next second of the intensity above
        zero (or the next arrival's), or `t` while a cohort waits."""
        if self.cohorts or self.queued > 0:
            return t
        if self._loaded is None:
            self._loaded = [second for second, offered in enumerate(self.fluid) if offered != 0]
        at = bisect.bisect_left(self._loaded, int(t))
        wake = float(self._loaded[at]) if at < len(self._loaded) else math.inf
        arrivals = self.trace.arrivals
        if self.next_arrival < len(arrivals):
            wake = min(wake, math.floor(arrivals[self.next_arrival]))
        return max(t, wake)

    def waiting(self) -> float:
        return self.queued

    def skip_idle(self, t: float, seconds: int, replicas: list[Replica]) -> None:
        """Nothing to advance: `arrive` reads each second's load afresh."""

    def serve(self, replicas: list[Replica], accepting: list[Replica], t: float, end: float) -> tuple[float, float]:
        """One second of batching; returns (requests in service, requests waiting) after the
        proxies drop the cohorts that waited past their timeout."""
        running = self._batch(accepting, t, end, self.offered)
        while self.cohorts and t - self.cohorts[0][0] >= platform.REQUEST_TIMEOUT_S:
            lost = self.cohorts.popleft()[1]
            self.queued -= lost
            self.recorder.gave_up(lost)
        return running, self.queued

    @staticmethod
    def busy(replicas: list[Replica], end: float, ready: int, running: float) -> int:
        return ready if running else 0

    @staticmethod
    def drained(replica: Replica) -> bool:
        return True

    def lost(self) -> tuple[float, int]:
        return self.queued + self.recorder.timed_out, 0

    def _batch(self, accepting: list[Replica], t: float, end: float, offered: float) -> float:
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
            self.recorder.answered(max(0.0, position - cohort[0]) + 1.5 * latency, take)
            cohort[1] -= take
            self.queued -= take
            left -= take
            done += take
            if cohort[1] <= 1e-9:
                self.cohorts.popleft()
        return min(done, offered) * latency
