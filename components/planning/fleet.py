"""The platform side of a replay: turns the replicas a controller wants into replicas that
serve, with each target's delays (EKS: pods, GPU nodes from the Cluster Autoscaler, image
pulls, warm-pool placeholders; SageMaker: instances), and bills the GPUs they hold.

What a replica does with its requests is the server model's business (vllm_server.py,
triton_server.py): the fleet builds replicas of the class the server gives it.
"""
from __future__ import annotations

import math

from components.planning import platform

# EC2 bills per second with a 60 s minimum (performance-facts §5).
MIN_BILLED_S = 60.0


class Replica:
    """One replica as the platform sees it; `n` is the requests it holds (what scale-in
    drains and the least-loaded choice reads)."""

    __slots__ = ("ready_at", "started_at", "draining", "node", "n")

    def __init__(self, ready_at: float, started_at: float, node: Node | None = None) -> None:
        self.ready_at = ready_at
        self.started_at = started_at
        self.draining = False
        self.node = node
        self.n = 0


class Node:
    __slots__ = ("ready_at", "launched_at", "slots", "used", "placeholders", "image_cached", "served", "idle_since",
                 "ended_at")

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


class Fleet:
    """Turns wanted replicas into replicas, with the target's delays, and bills it."""

    def __init__(self, timings: platform.Timings, gpus_per_replica: int, usd_per_gpu_hour: float,
                 replica: type[Replica] = Replica) -> None:
        self.make_replica = replica
        self.timings = timings
        self.gpus = gpus_per_replica
        self.usd_per_gpu_s = usd_per_gpu_hour / 3600
        self.replicas: list[Replica] = []
        self.gpu_seconds = 0.0

    def ready(self, end: float) -> int:
        """Replicas serving by `end`: started, not draining."""
        return sum(1 for r in self.replicas if r.ready_at <= end and not r.draining)

    def active(self) -> list[Replica]:
        return [r for r in self.replicas if not r.draining]

    def reconcile(self, t: float, wanted: int) -> None:
        raise NotImplementedError

    def bootstrap(self, replicas: int) -> None:
        """The state before the trace starts: `replicas` ready and serving."""
        raise NotImplementedError

    def tick(self, t: float) -> None:
        """Advance provisioning by one second and bill it."""
        raise NotImplementedError

    def retire(self, replica: Replica, t: float) -> None:
        self.replicas.remove(replica)

    def quiet_until(self, t: float) -> float:
        """The first second from `t` on at which `tick`, with no new decision, may change
        what serves or what is billed (the simulator skips idle seconds before it). Earlier
        is always safe; this default skips nothing."""
        return t

    def skip_idle(self, t: float, seconds: int) -> None:
        """Advance through `seconds` seconds from `t` before `quiet_until`, as `tick` would."""

    def _replicas_settled_until(self, t: float) -> float:
        """Until when the replicas that serve stay the same: none draining (a drained one is
        retired), and none becoming ready (the seconds ending at or after its ready time
        count it)."""
        wake = math.inf
        for replica in self.replicas:
            if replica.draining:
                return t
            if replica.ready_at > t + 1:
                wake = min(wake, math.ceil(replica.ready_at) - 1)
        return max(t, wake)

    def close(self, t: float) -> None:
        """Bill what is still running at the end (and every start's 60 s minimum)."""

    def billed_gpus(self) -> float:
        """GPUs being paid for this second."""
        raise NotImplementedError

    @property
    def cost_usd(self) -> float:
        raise NotImplementedError

    def _shrink(self, t: float, excess: int) -> None:
        """Stop the newest starting replicas first, then drain the least loaded ready ones."""
        starting = sorted((r for r in self.active() if r.ready_at > t), key=lambda r: -r.started_at)
        ready = sorted((r for r in self.active() if r.ready_at <= t), key=lambda r: r.n)
        for replica in (starting + ready)[:excess]:
            replica.draining = True


class EksFleet(Fleet):
    """Pods on GPU nodes: the Cluster Autoscaler adds nodes for pods that cannot be placed and
    removes nodes left empty; warm-pool placeholders hold GPUs with the image pulled."""

    def __init__(self, timings: platform.Timings, gpus_per_replica: int, node_gpus: int, usd_per_node_hour: float,
                 min_nodes: int, max_nodes: int, placeholders: int, replica: type[Replica] = Replica) -> None:
        """`min_nodes`, `max_nodes`: the pool's instances. A replica larger than one node (a
        LeaderWorkerSet group across nodes) takes whole nodes that the autoscaler adds
        together: the fleet then counts groups of that many nodes as one node."""
        super().__init__(timings, gpus_per_replica, usd_per_node_hour / node_gpus, replica)
        group = max(1, math.ceil(gpus_per_replica / node_gpus))
        self.slots_per_node = max(1, node_gpus // gpus_per_replica)
        self.node_gpus = node_gpus * group
        self.usd_per_node_s = usd_per_node_hour * group / 3600
        # A pool minimum that does not fill a group is rounded up to one (billed as a group).
        self.min_nodes, self.max_nodes = math.ceil(min_nodes / group), max(1, max_nodes // group)
        self.nodes: list[Node] = []
        self.pending = 0
        self.pending_placeholders = placeholders
        self.warm_nodes = timings.warm_nodes
        self.next_scan = 0.0
        self.billed_node_s = 0.0
        for _ in range(min_nodes):
            self.nodes.append(Node(0.0, 0.0, self.slots_per_node))

    def bootstrap(self, replicas: int) -> None:
        needed = math.ceil((replicas + self.pending_placeholders) / self.slots_per_node)
        for _ in range(max(0, min(self.max_nodes, needed) - len(self.nodes))):
            self.nodes.append(Node(0.0, 0.0, self.slots_per_node))
        for node in self.nodes:
            node.image_cached = True
        for _ in range(replicas):
            node = next((n for n in self.nodes if n.free), None)
            if node is None:
                self.pending += 1
                continue
            node.used += 1
            node.served = True
            self.replicas.append(self.make_replica(0.0, 0.0, node))
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
            self.replicas.append(self.make_replica(t + start, t, node))
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
                self.nodes.append(Node(t, t + delay, self.slots_per_node))
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

    def _bill_node(self, node: Node) -> None:
        assert node.ended_at is not None
        seconds = max(MIN_BILLED_S, node.ended_at - node.launched_at)
        self.billed_node_s += seconds

    def tick(self, t: float) -> None:
        if t >= self.next_scan:
            self._scan(t)
            self.next_scan = t + platform.CA_SCAN_S
        self._place(t)

    def retire(self, replica: Replica, t: float) -> None:
        super().retire(replica, t)
        node = replica.node
        if node is not None:
            node.used -= 1
            if node.used == 0 and node.placeholders == 0:
                node.idle_since = t

    def billed_gpus(self) -> float:
        return sum(self.node_gpus for n in self.nodes if n.ended_at is None)

    def quiet_until(self, t: float) -> float:
        # With nothing to place, a scan adds no node; it removes an empty one once the pool
        # is above its minimum and the node has been unneeded long enough.
        wake = self._replicas_settled_until(t)
        live = [n for n in self.nodes if n.ended_at is None]
        if self.pending or self.pending_placeholders:
            # Pods wait for nodes: nothing moves while no ready node has room for them and
            # the nodes coming cover them, until one of those nodes is ready.
            coming = 0
            for node in live:
                if node.ready_at <= t:
                    if node.free or (self.pending and node.placeholders):
                        return t
                else:
                    coming += node.free
                    wake = min(wake, math.floor(node.ready_at) - 1)
            if self.pending + self.pending_placeholders > coming and len(live) < self.max_nodes:
                return t
        if len(live) > self.min_nodes:
            for node in live:
                if node.used == 0 and node.placeholders == 0:
                    wake = min(wake, math.floor(max(node.ready_at, node.idle_since + platform.CA_SCALE_DOWN_UNNEEDED_S)))
        return max(t, wake)

    def skip_idle(self, t: float, seconds: int) -> None:
        # The scans that would have run, each finding nothing to do: only their clock moves.
        # Seconds and the scan interval are whole, so these sums are exact.
        end = t + seconds
        first = max(t, math.ceil(self.next_scan))
        if first < end:
            scans = math.ceil((end - first) / platform.CA_SCAN_S)
            self.next_scan = first + scans * platform.CA_SCAN_S

    def close(self, t: float) -> None:
        for node in self.nodes:
            if node.ended_at is None:
                node.ended_at = t
                self._bill_node(node)
        self.gpu_seconds = self.billed_node_s * self.node_gpus

    @property
    def cost_usd(self) -> float:
        return self.billed_node_s * self.usd_per_node_s


class InstanceFleet(Fleet):
    """SageMaker instances (one replica each, billed from launch), or with `instant` the
    oracle's replicas: ready at once and billed only while they exist."""

    def __init__(self, timings: platform.Timings, gpus_per_replica: int, usd_per_replica_hour: float,
                 spare: int = 0, max_replicas: int = 10_000, instant: bool = False,
                 replica: type[Replica] = Replica) -> None:
        super().__init__(timings, gpus_per_replica, usd_per_replica_hour / gpus_per_replica, replica)
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
                replica = self.make_replica(t + delay, t)
                self.launched[id(replica)] = t
                self.replicas.append(replica)
        elif wanted < len(active):
            self._shrink(t, len(active) - wanted)

    def tick(self, t: float) -> None:
        return None

    def quiet_until(self, t: float) -> float:
        return self._replicas_settled_until(t)

    def bootstrap(self, replicas: int) -> None:
        for _ in range(min(self.max_replicas, replicas + self.spare)):
            replica = self.make_replica(0.0, 0.0)
            self.launched[id(replica)] = 0.0
            self.replicas.append(replica)

    def retire(self, replica: Replica, t: float) -> None:
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
