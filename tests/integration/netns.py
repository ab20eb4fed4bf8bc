"""A network of its own for a test cluster: each node in a network namespace, all joined by
veth links to a bridge in the test's own namespace, and partitions made of blackhole routes.

Nothing leaves the machine: the addresses are a private /24 that only this bridge carries.
The test process sits on the bridge too, so it reaches every node whatever is cut between them.
Needs root (`ip netns add`); iproute2 is all it uses.
"""

import random
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import combinations

import pytest


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Network:
    """Namespaces n1..n<size> at 10.<a>.<b>.1..size; the bridge (the tests' side) at .254."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tag = f"{random.randrange(16**4):04x}"  # interface names stay within 15 chars
        self.subnet = f"10.{random.randrange(64, 250)}.{random.randrange(1, 250)}"
        self.bridge = f"dqbr{self.tag}"
        self._cuts: set[tuple[int, int]] = set()
        self.events: list[tuple[float, str]] = []  # (time.time(), what changed), in order

    def namespace(self, node: int) -> str:
        return f"dq{self.tag}n{node}"

    def host(self, node: int) -> str:
        return f"{self.subnet}.{node}"

    @property
    def bridge_host(self) -> str:
        """The tests' own address on the bridge."""
        return f"{self.subnet}.254"

    def inside(self, node: int) -> list[str]:
        """The command prefix that runs a program in `node`'s namespace."""
        return ["ip", "netns", "exec", self.namespace(node)]

    def create(self) -> None:
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.bridge_host}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for node in range(1, self.size + 1):
            namespace, outside = self.namespace(node), f"dq{self.tag}v{node}"
            ip("netns", "add", namespace)
            ip("link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            ip("link", "set", outside, "master", self.bridge, "up")
            ip("-n", namespace, "addr", "add", f"{self.host(node)}/24", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "link", "set", "lo", "up")

    def destroy(self) -> None:
        for node in range(1, self.size + 1):
            subprocess.run(["ip", "netns", "del", self.namespace(node)], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

    def cut(self, a: int, b: int, *, noted: bool = True) -> None:
        """Packets between nodes a and b vanish, both ways (as on a broken link, no error)."""
        pair = (min(a, b), max(a, b))
        if pair in self._cuts:
            return
        ip("-n", self.namespace(a), "route", "add", "blackhole", f"{self.host(b)}/32")
        ip("-n", self.namespace(b), "route", "add", "blackhole", f"{self.host(a)}/32")
        self._cuts.add(pair)
        if noted:
            self.events.append((time.time(), f"{a} cut from {b}"))

    def cut_from_tests(self, node: int) -> None:
        """Packets from `node` to the tests' side vanish (removed with the network)."""
        ip("-n", self.namespace(node), "route", "add", "blackhole", f"{self.bridge_host}/32")

    def split(self, *sides: set[int]) -> None:
        """Every node can reach only the nodes on its own side."""
        for one, other in combinations(sides, 2):
            for a in one:
                for b in other:
                    self.cut(a, b, noted=False)
        self.events.append((time.time(), " | ".join(",".join(map(str, sorted(s))) for s in sides)))

    def heal(self) -> None:
        if not self._cuts:
            return
        for a, b in sorted(self._cuts):
            ip("-n", self.namespace(a), "route", "del", "blackhole", f"{self.host(b)}/32")
            ip("-n", self.namespace(b), "route", "del", "blackhole", f"{self.host(a)}/32")
        self._cuts.clear()
        self.events.append((time.time(), "healed"))

    @property
    def cuts(self) -> set[tuple[int, int]]:
        return set(self._cuts)


@contextmanager
def private_network(size: int) -> Iterator[Network]:
    """A Network, removed afterwards whatever happened; the test is skipped without root."""
    network = Network(size)
    try:
        network.create()
    except (subprocess.CalledProcessError, FileNotFoundError) as error:
        network.destroy()
        detail = getattr(error, "stderr", "") or error
        pytest.skip(f"cannot make network namespaces here (needs root and iproute2): {detail}")
    try:
        yield network
    finally:
        network.destroy()
