"""`make cluster`: three app processes on this machine, each with its own dqlite node.

Node i serves the API on 127.0.0.1:800i and dqlite on 127.0.0.1:900i (by default), with
its data in .data/node<i>. Node 1 bootstraps the cluster; the others join it as voters; a
cluster that was stopped comes back with its data. Ctrl-C stops them all gracefully (each
hands over its role first). `--only 2` (re)starts one node alone, e.g. after it was stopped
or killed: it rejoins by itself.

The ports are <base>+i: --api-port-base and --dqlite-port-base (or CLUSTER_API_PORT_BASE and
CLUSTER_DQLITE_PORT_BASE) move them, --host the address. A node restarted with --only must be
given the same ones as the rest of its cluster: they are its and its peers' addresses.

The apps get this environment (APP_WORKERS=2 makes each serve its port from two processes).
"""

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PR_SET_PDEATHSIG = 1
NODES = (1, 2, 3)


@dataclass(frozen=True)
class Ports:
    """Where the nodes listen: node i on host:api_base+i (API) and host:dqlite_base+i."""

    host: str = "127.0.0.1"
    api_base: int = 8000
    dqlite_base: int = 9000

    def api(self, node: int) -> str:
        return f"{self.host}:{self.api_base + node}"

    def dqlite(self, node: int) -> str:
        return f"{self.host}:{self.dqlite_base + node}"


def environment(node: int, ports: Ports = Ports()) -> dict[str, str]:
    return {
        **os.environ,
        "APP_NODE_ID": str(node),
        "APP_NODE_ADDRESS": ports.dqlite(node),
        "APP_PEERS": ",".join(ports.dqlite(n) for n in NODES if n != node),
        "APP_DATA_DIR": str(ROOT / ".data" / f"node{node}"),
        # One token signing key for the three (made once, unless APP_AUTH_SIGNING_KEY names one).
        "APP_AUTH_KEY_DIR": os.environ.get(
            "APP_AUTH_KEY_DIR", str(ROOT / ".data" / "cluster-auth")
        ),
        "APP_API_HOST": ports.host,
        "APP_API_PORT": str(ports.api_base + node),
    }


def die_with_parent() -> None:
    """In the child: have the kernel send SIGTERM if this launcher dies, so that no node
    outlives it even when the launcher is killed outright."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start(node: int, ports: Ports) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints"],
        env=environment(node, ports),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=die_with_parent,
    )
    threading.Thread(target=relay, args=(node, process), daemon=True).start()
    return process


def relay(node: int, process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        print(f"[node {node}] {line}", end="", flush=True)


def wait_ready(
    node: int, process: subprocess.Popen[str], ports: Ports, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"node {node} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://{ports.api(node)}/ready", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"node {node} was not ready after {seconds:.0f}s")


def stop_once(signum: int, frame: object) -> None:
    """The first Ctrl-C or SIGTERM stops the cluster; later ones must not cut that short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def port_base(text: str) -> int:
    base = int(text)
    if not 0 <= base <= 65535 - len(NODES):
        raise argparse.ArgumentTypeError(f"{base}: node ports {base}+1.. must be 1-65535")
    return base


def command_line() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", type=int, choices=NODES, help="start just this node")
    parser.add_argument(
        "--host",
        default=Ports.host,
        help="the address every node listens on and its peers dial: not 0.0.0.0 (%(default)s)",
    )
    parser.add_argument(
        "--api-port-base",
        type=port_base,
        default=os.environ.get("CLUSTER_API_PORT_BASE", Ports.api_base),
        metavar="BASE",
        help="node i serves the API on BASE+i (CLUSTER_API_PORT_BASE, else %(default)s)",
    )
    parser.add_argument(
        "--dqlite-port-base",
        type=port_base,
        default=os.environ.get("CLUSTER_DQLITE_PORT_BASE", Ports.dqlite_base),
        metavar="BASE",
        help="node i's dqlite listens on BASE+i (CLUSTER_DQLITE_PORT_BASE, else %(default)s)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = command_line().parse_args(argv)
    ports = Ports(args.host, args.api_port_base, args.dqlite_port_base)
    nodes = [args.only] if args.only else list(NODES)
    processes: dict[int, subprocess.Popen[str]] = {}
    signal.signal(signal.SIGINT, stop_once)
    signal.signal(signal.SIGTERM, stop_once)
    try:
        # All at once: a restarted cluster elects a leader only when a quorum is up, and
        # fresh nodes 2 and 3 keep asking to join until node 1 has bootstrapped.
        for node in nodes:
            processes[node] = start(node, ports)
        for node in nodes:
            wait_ready(node, processes[node], ports)
        print(f"cluster ready: API on {', '.join(ports.api(n) for n in nodes)}", flush=True)
        running = set(processes)
        while running:  # a node that dies leaves the others serving: that is the point
            for node in sorted(running):
                if processes[node].poll() is not None:
                    print(f"node {node} exited with {processes[node].returncode}", flush=True)
                    running.discard(node)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
