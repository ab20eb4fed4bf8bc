"""The DqliteNode adapter: libdqlite's C API in this process, on real sockets and disks."""

import ctypes
import fcntl
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import adapters.dqlite.node
from adapters.dqlite.engine import dqlite_url, wait_until_serving
from adapters.dqlite.node import DqliteNode, LibraryMissing
from tests.dqlite import free_address, node_in, tmpfs


@pytest.fixture
def node(tmp_path: Path) -> Iterator[DqliteNode]:
    node = node_in(tmp_path)
    try:
        yield node
    finally:
        node.stop()


def accepts_connections(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def run_isolated(script: str) -> subprocess.CompletedProcess[str]:
    """Run `script` in a Python of its own: if libdqlite aborts, only that process dies."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_rows_written_through_an_engine_survive_a_node_restart_on_the_same_data_dir(
    node: DqliteNode,
) -> None:
    url = dqlite_url(node.address, "survivor")
    node.start()
    engine = create_async_engine(url)
    try:
        await wait_until_serving(engine, 10)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
            await connection.execute(text("INSERT INTO notes VALUES (1, 'one'), (2, 'two')"))
    finally:
        await engine.dispose()
    node.stop()
    assert not accepts_connections(node.address)

    restarted = DqliteNode(node.node_id, node.address, node.data_dir)
    restarted.start()
    engine = create_async_engine(url)
    try:
        await wait_until_serving(engine, 10)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT id, body FROM notes ORDER BY id"))).all()
    finally:
        await engine.dispose()
        restarted.stop()

    assert [tuple(row) for row in rows] == [(1, "one"), (2, "two")]


async def test_a_node_whose_address_is_a_host_name_serves_there(tmp_path: Path) -> None:
    """As in a container, whose node address is its service name: libdqlite binds only to IP
    addresses, so the node listens on the address the name resolves to."""
    port = free_address().rpartition(":")[2]
    named = DqliteNode(1, f"localhost:{port}", tmp_path / "named", private_network=True)
    named.start()
    engine = create_async_engine(dqlite_url(named.address, "named"))
    try:
        await wait_until_serving(engine, 10)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()
        named.stop()


def test_a_node_on_an_address_another_socket_listens_on_raises_address_in_use_without_aborting(
    tmp_path: Path,
) -> None:
    result = run_isolated(
        f"""
        import socket
        from pathlib import Path
        from adapters.dqlite.node import AddressInUse, DqliteNode

        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            address = "127.0.0.1:%d" % listener.getsockname()[1]
            node = DqliteNode(1, address, Path({str(tmp_path / "node1")!r}))
            try:
                node.start()
            except AddressInUse as error:
                print("raised:", error)
            print("running:", node.running)
            print("still alive")
        """
    )

    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "raised: dqlite address 127.0.0.1:" in result.stdout
    assert "is already in use" in result.stdout
    assert "running: False" in result.stdout
    assert "still alive" in result.stdout


def test_a_node_whose_address_was_busy_starts_once_the_address_is_free(tmp_path: Path) -> None:
    result = run_isolated(
        f"""
        import socket
        from pathlib import Path
        from adapters.dqlite.node import AddressInUse, DqliteNode

        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = "127.0.0.1:%d" % listener.getsockname()[1]
        node = DqliteNode(1, address, Path({str(tmp_path / "node1")!r}))
        try:
            node.start()
        except AddressInUse:
            print("busy")
        listener.close()
        node.start()
        print("running:", node.running)
        node.stop()
        """
    )

    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stdout.splitlines() == ["busy", "running: True"]


def test_a_missing_library_raises_library_missing_telling_to_install_libdqlite0(
    node: DqliteNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapters.dqlite.node, "LIBRARY_NAME", "libdqlite-not-here.so.0")

    with pytest.raises(LibraryMissing) as raised:
        node.start()

    message = str(raised.value)
    assert "libdqlite-not-here.so.0" in message
    assert "install" in message
    assert "libdqlite0" in message
    assert not node.running
    assert not accepts_connections(node.address)


def test_stopping_a_node_twice_or_before_it_started_is_harmless(node: DqliteNode) -> None:
    node.stop()  # never started
    node.start()
    assert accepts_connections(node.address)

    node.stop()
    node.stop()

    assert not node.running
    assert not accepts_connections(node.address)


def test_starting_a_running_node_again_changes_nothing(node: DqliteNode) -> None:
    node.start()

    # Not a no-op would mean a second node on the same address: AddressInUse, or an abort.
    node.start()

    assert node.running
    assert accepts_connections(node.address)
    node.stop()
    assert not accepts_connections(node.address), "the first start's node was leaked"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB filesystem of its own."""
    with tmpfs(tmp_path / "small-disk", size_mb=4) as mount_point:
        yield mount_point


def test_a_node_on_a_disk_without_room_for_its_log_refuses_to_start_saying_so(
    small_disk: Path,
) -> None:
    node = node_in(small_disk)

    with pytest.raises(adapters.dqlite.node.NodeError, match="needs at least 8 MB"):
        node.start()

    assert not node.running
    assert not accepts_connections(node.address)


def test_a_disk_reserve_a_stopped_node_could_not_start_again_from_is_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="needs to start again"):
        DqliteNode(1, free_address(), tmp_path, disk_reserve_bytes=15 * 2**20)

    least = DqliteNode(1, free_address(), tmp_path, disk_reserve_bytes=16 * 2**20)
    assert least.disk_reserve_bytes == 16 * 2**20


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "[::]", "db.example.org"])
def test_a_node_refuses_a_non_loopback_address_unless_the_network_is_said_private(
    tmp_path: Path, host: str
) -> None:
    node = DqliteNode(1, f"{host}:9001", tmp_path / "node1")

    with pytest.raises(adapters.dqlite.node.NodeError, match="APP_PRIVATE_NETWORK=true"):
        node.start()

    assert not node.running
    assert not (tmp_path / "node1").exists()  # refused before anything was written


def test_a_node_dials_its_peers_with_nagles_delay_off_and_keepalive_on() -> None:
    with socket.create_server(("127.0.0.1", 0)) as peer:
        address = f"127.0.0.1:{peer.getsockname()[1]}".encode()
        fd = (ctypes.c_int * 1)()

        assert adapters.dqlite.node._connect_without_delay(None, address, fd) == 0
        assert not fcntl.fcntl(fd[0], fcntl.F_GETFL) & os.O_NONBLOCK  # as libdqlite's own
        with socket.socket(fileno=fd[0]) as dialed:
            assert dialed.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            assert dialed.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert dialed.getpeername() == peer.getsockname()


def test_a_peer_that_cannot_be_dialed_is_reported_to_libdqlite_as_a_failure() -> None:
    address = free_address().encode()  # no one listens there
    fd = (ctypes.c_int * 1)()

    assert adapters.dqlite.node._connect_without_delay(None, address, fd) != 0
    assert adapters.dqlite.node._connect_without_delay(None, b"no-port", fd) != 0


def test_the_connections_a_node_accepts_drop_a_peer_silent_for_three_seconds(
    node: DqliteNode,
) -> None:
    """libdqlite enables no keepalive; the node sets it on its listener, whose options each
    accepted connection inherits."""
    node.start()
    port = int(node.address.rpartition(":")[2])
    with socket.create_connection(("127.0.0.1", port)) as client:
        client_port = client.getsockname()[1]
        accepted = accepted_socket(port, client_port)
        with socket.socket(fileno=os.dup(accepted)) as server_side:
            options = [
                server_side.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                server_side.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
            ]
    assert options == [1, 1, 1, 2, 3000]


def accepted_socket(port: int, client_port: int) -> int:
    """This process's descriptor of the connection the node accepted from `client_port`."""
    for _ in range(50):  # libdqlite accepts on its own thread
        inodes = {}
        for entry in Path("/proc/self/fd").iterdir():
            target = os.readlink(entry) if entry.exists() else ""
            if target.startswith("socket:["):
                inodes[target[8:-1]] = int(entry.name)
        for line in Path("/proc/self/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            ports = int(local.rpartition(":")[2], 16), int(remote.rpartition(":")[2], 16)
            if ports == (port, client_port) and inode in inodes:
                return inodes[inode]
        time.sleep(0.02)
    raise AssertionError(f"no accepted connection from port {client_port} found")
