"""A dqlite cluster of app processes on this machine, as `make cluster` runs it, on free ports."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from adapters.contexts import CONTEXTS
from adapters.dqlite.admin import ClusterAdmin
from adapters.dqlite.leader import ClusterView
from tests.integration.netns import Network
from tests.integration.process import AppProcess


class Cluster:
    """Apps 1..size, each with its own node; node 1 bootstraps, the others join it."""

    def __init__(
        self, workdir: Path, size: int = 3, network: Network | None = None, workers: int = 1
    ) -> None:
        """On loopback, or each app in its own namespace of `network`; each app serves from
        `workers` processes (APP_WORKERS)."""
        self.apps = {
            n: AppProcess(workdir / f"node{n}", node_id=n, workers=workers)
            if network is None
            else AppProcess(
                workdir / f"node{n}",
                node_id=n,
                host=network.host(n),
                command_prefix=network.inside(n),
                workers=workers,
            )
            for n in range(1, size + 1)
        }
        for app in self.apps.values():
            app.peers = [o.node_address for o in self.apps.values() if o is not app]

    @property
    def addresses(self) -> list[str]:
        return [app.node_address for app in self.apps.values()]

    def start(self) -> None:
        """All at once, as after a power cut: a leader needs a quorum of them up."""
        for app in self.apps.values():
            app.launch()
        for app in self.apps.values():
            app.wait_serving(timeout=60)

    def stop(self) -> None:
        for app in self.apps.values():
            if app.running:
                app.resume()  # a paused node would not see SIGTERM
                app.stop()

    def view(self) -> ClusterView:
        """Who is in the cluster and who leads, asked of every node address."""
        return asyncio.run(ClusterAdmin(self.addresses, CONTEXTS).status())

    def leader(self) -> AppProcess:
        leader_id = self.view().leader_id
        assert leader_id is not None, "the cluster has no leader"
        return self.apps[leader_id]

    def followers(self) -> list[AppProcess]:
        leader = self.leader()
        return [app for app in self.apps.values() if app is not leader]


@contextmanager
def running_cluster(
    workdir: Path, size: int = 3, network: Network | None = None, workers: int = 1
) -> Iterator[Cluster]:
    cluster = Cluster(workdir, size, network, workers)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
