"""An embedded dqlite node: libdqlite's C API, driven through ctypes in this process."""

import ctypes
import errno
import ipaddress
import logging
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from adapters.dqlite.keepalive import keep_alive, keep_alive_on_listener
from adapters.dqlite.tls import TlsFiles, TlsRelay

logger = logging.getLogger(__name__)

LIBRARY_NAME = "libdqlite.so.0"


class NodeError(RuntimeError):
    """The node could not be created, started or stopped."""


class LibraryMissing(NodeError):
    def __init__(self, cause: OSError) -> None:
        super().__init__(
            f"cannot load {LIBRARY_NAME} ({cause}); install Debian's libdqlite0 package "
            "(apt-get install libdqlite0), or run `make run`, which installs it"
        )


class AddressInUse(NodeError):
    def __init__(self, address: str) -> None:
        super().__init__(
            f"dqlite address {address} is already in use by another process; "
            "stop that process or choose another port (APP_NODE_ADDRESS)"
        )


# int (*f)(void *arg, const char *address, int *fd): how a node dials its peers.
CONNECT_FUNC = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)
)


def _load_library() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(LIBRARY_NAME)
    except OSError as error:
        raise LibraryMissing(error) from error
    handle = ctypes.c_void_p
    lib.dqlite_node_create.argtypes = [
        ctypes.c_ulonglong,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.POINTER(handle),
    ]
    lib.dqlite_node_set_bind_address.argtypes = [handle, ctypes.c_char_p]
    lib.dqlite_node_set_network_latency_ms.argtypes = [handle, ctypes.c_uint]
    lib.dqlite_node_set_connect_func.argtypes = [handle, CONNECT_FUNC, ctypes.c_void_p]
    lib.dqlite_node_set_snapshot_params.argtypes = [handle, ctypes.c_uint, ctypes.c_uint]
    lib.dqlite_node_start.argtypes = [handle]
    lib.dqlite_node_stop.argtypes = [handle]
    lib.dqlite_node_destroy.argtypes = [handle]
    lib.dqlite_node_destroy.restype = None
    lib.dqlite_node_errmsg.argtypes = [handle]
    lib.dqlite_node_errmsg.restype = ctypes.c_char_p
    return lib


def _is_loopback(address: str) -> bool:
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: where it points is not known here
        return False


def bind_address(address: str) -> str:
    """`address` with its host as an IP address: libdqlite binds only to those, while a node's
    address in the cluster may be a name (a container's service name, a machine's)."""
    host, _, port = address.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return address
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except OSError as error:
        raise NodeError(f"cannot resolve the dqlite address {address}: {error}") from error
    family, ip = found[0][0], str(found[0][4][0])
    return f"[{ip}]:{port}" if family == socket.AF_INET6 else f"{ip}:{port}"


def _check_port_free(address: str) -> None:
    # libdqlite's own bind failure says nothing of why (and starting after it aborts the
    # process), so look first and name the cause.
    host, _, port = address.rpartition(":")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), int(port)))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise AddressInUse(address) from error
            raise NodeError(f"cannot bind dqlite address {address}: {error}") from error


# libraft 0.15 keeps its log in 8 MB segments, preallocating up to three open ones while it
# takes writes (freed when the node stops), and with no space at all libdqlite 1.11 crashes
# inside dqlite_node_start (SIGSEGV, nothing logged). Room for one segment, checked first, turns
# that into a message.
SEGMENT_BYTES = 8 * 2**20
START_FLOOR_BYTES = SEGMENT_BYTES
# libraft 0.15 can also crash (SIGSEGV, nothing logged) when its log runs out of space while
# serving: in 6 of 26 trials here, with writes arriving as the disk filled. So the app stops
# writing while less than this is free, and dqlite never gets that far by the app's doing.
DISK_RESERVE_BYTES = 4 * SEGMENT_BYTES
# The last write taken above the reserve can make the log allocate one more segment; a node
# stopped there must still clear the start floor, or it would take writes into a state it
# cannot start again from.
LEAST_DISK_RESERVE_BYTES = START_FLOOR_BYTES + SEGMENT_BYTES


@dataclass(frozen=True)
class SnapshotParams:
    """After `threshold` new raft entries a node snapshots its databases, then keeps the last
    `trailing` entries of its log (in memory and in segment files) and drops the older ones."""

    threshold: int
    trailing: int

    def __post_init__(self) -> None:
        # libdqlite 1.11.1 refuses a trailing under 4 or under the threshold (DQLITE_MISUSE, no
        # reason given: the entries since the snapshot before must stay, should the last one be
        # unusable); a threshold of 0 would snapshot every database after each entry.
        if not 1 <= self.threshold <= self.trailing or self.trailing < 4:
            raise ValueError(
                f"snapshot trailing ({self.trailing}) must be at least 4 and at least the "
                f"threshold ({self.threshold}), which must be at least 1"
            )


class DqliteNode:
    """One dqlite node serving `address`, keeping its raft log and snapshots in `data_dir`."""

    def __init__(
        self,
        node_id: int,
        address: str,
        data_dir: Path,
        *,
        disk_reserve_bytes: int = DISK_RESERVE_BYTES,
        network_latency_ms: int | None = None,
        snapshot: SnapshotParams | None = None,
        private_network: bool = False,
        tls: TlsFiles | None = None,
    ) -> None:
        self.node_id = node_id
        self.address = address
        self.data_dir = data_dir
        if disk_reserve_bytes < LEAST_DISK_RESERVE_BYTES:
            raise ValueError(
                f"a disk reserve of {disk_reserve_bytes // 2**20} MB is under the "
                f"{LEAST_DISK_RESERVE_BYTES // 2**20} MB a node stopped at it needs to start again"
            )
        self.disk_reserve_bytes = disk_reserve_bytes
        # Raft's heartbeat is 1.5x and its election timeout 15x this latency (libdqlite
        # 1.11.1's src/server.c); unset, they are 0.5 s and 3 s, and a failover takes 3 to 6 s.
        self.network_latency_ms = network_latency_ms
        self.snapshot = snapshot  # None: libdqlite 1.11's own, a threshold of 1024, trailing 8192
        # The dqlite port has no authentication: whoever reaches it reads and writes every
        # table. Off loopback only when the operator says the network is private.
        self.private_network = private_network
        # With certificates, peers and clients must show one of the cluster's CA (see tls.py).
        self.tls = tls
        self._relay: TlsRelay | None = None
        self._connect_func: object = None  # kept alive while libdqlite may call it
        self._lib: ctypes.CDLL | None = None
        self._handle: ctypes.c_void_p | None = None

    @property
    def running(self) -> bool:
        return self._handle is not None

    def start(self) -> None:
        if self.running:
            return
        if not (self.private_network or self.tls) and not _is_loopback(self.address):
            raise NodeError(
                f"dqlite address {self.address} is not a loopback address, and the dqlite port "
                "has no authentication: anyone who reaches it reads and writes every table. "
                "Give the nodes certificates (APP_TLS_CERT, APP_TLS_KEY, APP_TLS_CA), or "
                "firewall the port to the cluster's nodes and set APP_PRIVATE_NETWORK=true."
            )
        lib = _load_library()
        listen = bind_address(self.address)
        _check_port_free(listen)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _check_disk_space(self.data_dir)
        handle = ctypes.c_void_p()
        address = self.address.encode()
        if lib.dqlite_node_create(self.node_id, address, str(self.data_dir).encode(), handle):
            message = lib.dqlite_node_errmsg(handle) if handle.value else b"out of memory"
            lib.dqlite_node_destroy(handle)
            raise NodeError(f"cannot create dqlite node {self.node_id}: {message.decode()}")
        relay = TlsRelay(self.tls, self.node_id) if self.tls else None
        bind = listen.encode() if relay is None else relay.private_address.encode()
        if lib.dqlite_node_set_bind_address(handle, bind) != 0:
            self._give_up(lib, handle, "bind")
        # How the node dials its peers: over TLS, or plain TCP without Nagle's delay.
        dial = _connect_without_delay if relay is None else _connect_through(relay)
        self._connect_func = connect = CONNECT_FUNC(dial)
        if lib.dqlite_node_set_connect_func(handle, connect, None) != 0:
            self._give_up(lib, handle, "set the connect function of")
        latency = self.network_latency_ms
        if latency is not None and lib.dqlite_node_set_network_latency_ms(handle, latency) != 0:
            self._give_up(lib, handle, f"set a network latency of {latency} ms on")
        snapshot = self.snapshot
        if snapshot is not None and lib.dqlite_node_set_snapshot_params(
            handle, snapshot.threshold, snapshot.trailing
        ):
            self._give_up(lib, handle, f"set the snapshot parameters {snapshot} of")
        if lib.dqlite_node_start(handle) != 0:
            self._give_up(lib, handle, "start")
        self._lib, self._handle = lib, handle
        if relay is None and not keep_alive_on_listener(int(self.address.rpartition(":")[2])):
            logger.warning(
                "dqlite node %s: no TCP keepalive on its connections (listener not found); a "
                "client that vanishes mid-transaction keeps the write lock",
                self.node_id,
            )
        if relay is not None:
            relay.start()
            self._relay = relay
            try:
                relay.serve(self.address)
            except OSError as error:
                self.stop()
                raise NodeError(f"cannot serve TLS at {self.address}: {error}") from error

    def _give_up(self, lib: ctypes.CDLL, handle: ctypes.c_void_p, step: str) -> NoReturn:
        message = lib.dqlite_node_errmsg(handle).decode() or "no detail given"
        lib.dqlite_node_destroy(handle)
        raise NodeError(f"cannot {step} dqlite node at {self.address}: {message}")

    def stop(self) -> None:
        """Stop serving, wait for in-flight requests, release the node."""
        if self._lib is None or self._handle is None:
            return
        lib, handle = self._lib, self._handle
        self._lib, self._handle = None, None
        failed = lib.dqlite_node_stop(handle)
        lib.dqlite_node_destroy(handle)
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        if failed:
            raise NodeError(f"dqlite node {self.node_id} did not stop cleanly")

    def disk_shortage(self) -> str | None:
        """What is short on the data dir's disk for the raft log to grow, or None.

        Writes are refused while this says something (see DISK_RESERVE_BYTES).
        """
        free = shutil.disk_usage(self.data_dir).free
        if free >= self.disk_reserve_bytes:
            return None
        return (
            f"{free // 2**20} MB free on the node's disk, under the "
            f"{self.disk_reserve_bytes // 2**20} MB kept for its raft log"
        )


def _connect_through(relay: TlsRelay) -> Callable[[object, bytes, Any], int]:
    def connect(_arg: object, address: bytes, fd: Any) -> int:
        try:
            fd[0] = relay.connect(address.decode())
        except Exception as error:  # raising into C would be lost: libdqlite retries later
            logger.warning("node cannot reach peer %s over TLS: %s", address.decode(), error)
            return 1
        return 0

    return connect


def _connect_without_delay(_arg: object, address: bytes, fd: Any) -> int:
    """A TCP connection to a peer with TCP_NODELAY, which libdqlite 1.11's own leaves unset:
    raft's small messages then wait for delayed ACKs, and a 3-node cluster here committed
    48 and 61 writes/s with it unset against 100 and 103 with it set (one client)."""
    host, _, port = address.decode().rpartition(":")
    try:
        peer = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
    except (OSError, ValueError):  # raising into C would be lost: libdqlite retries later
        return 1
    peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    keep_alive(peer)
    peer.settimeout(None)  # blocking again, as libdqlite expects of the socket it is given
    fd[0] = peer.detach()
    return 0


def _check_disk_space(data_dir: Path) -> None:
    free = shutil.disk_usage(data_dir).free
    if free < START_FLOOR_BYTES:
        raise NodeError(
            f"{data_dir} has {free // 2**20} MB free; a dqlite node needs at least "
            f"{START_FLOOR_BYTES // 2**20} MB there (its raft log preallocates 8 MB segments)"
        )
