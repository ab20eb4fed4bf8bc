"""TCP keepalive on the node's connections: a client that vanishes in the middle of a write
transaction (its machine gone, or the network cut with no FIN or RST crossing) must not keep
the database's one write lock.

libdqlite 1.11 has no transaction timeout and does not enable keepalive on the connections it
accepts, so such a client held the lock, and no other writer got through, until the network
healed. Linux copies a listening socket's keepalive options to the connections it accepts,
so setting them once on the node's listener covers every connection the node accepts (from
clients and from peers). The peers it dials get them too (node.py).
"""

import os
import socket
from pathlib import Path
from typing import Protocol

IDLE_SECONDS = 1  # silence before the first probe
INTERVAL_SECONDS = 1  # between probes
PROBES = 2  # unanswered probes before the connection is dropped
# The same bound for data the peer never acknowledges: keepalive probes only idle connections,
# and a client cut off right after an answer has often not acknowledged it yet (its delayed
# ACK is lost in the cut), which left the lock held in tests. The price: a reader that keeps a
# zero window this long is cut too; dqlite's clients read their answers as they come (a
# backup's DUMP is read into memory before it is written out).
USER_TIMEOUT_MS = (IDLE_SECONDS + INTERVAL_SECONDS * PROBES) * 1000

TCP_LISTEN = "0A"  # the state column of /proc/net/tcp


class HasSocketOptions(Protocol):  # a socket, or asyncio's view of a server's socket
    def setsockopt(self, level: int, option: int, value: int, /) -> None: ...


def keep_alive(sock: HasSocketOptions) -> None:
    """Drop the connection (or, on a listener, each it accepts) once its peer stops answering
    for about USER_TIMEOUT_MS (3 s), whether it was idle or had data to acknowledge."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, IDLE_SECONDS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, INTERVAL_SECONDS)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, PROBES)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, USER_TIMEOUT_MS)


def keep_alive_on_listener(port: int) -> bool:
    """Set keepalive on this process's TCP listener at `port` (libdqlite's, which Python never
    sees as a socket object): False when there is none."""
    fd = _listening_fd(port)
    if fd is None:
        return False
    with socket.socket(fileno=os.dup(fd)) as listener:  # closing the copy leaves libdqlite's
        keep_alive(listener)
    return True


def _listening_fd(port: int) -> int | None:
    """This process's file descriptor of the socket listening on TCP `port`, found through
    /proc: the socket inodes of its descriptors, and the kernel's table of TCP sockets."""
    fds_by_inode = {}
    for entry in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(entry)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            fds_by_inode[target[len("socket:[") : -1]] = int(entry.name)
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:  # no IPv6 on this kernel
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            listening = state == TCP_LISTEN and int(local.rpartition(":")[2], 16) == port
            if listening and inode in fds_by_inode:
                return fds_by_inode[inode]
    return None
