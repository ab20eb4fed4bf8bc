"""`make cluster`: three app processes on this machine, each with its own dqlite node.

Node i serves the API on 127.0.0.1:800i and dqlite on 127.0.0.1:900i, with its data in
.data/node<i>. Node 1 bootstraps the cluster; the others join it as voters; a cluster that
was stopped comes back with its data. Ctrl-C stops
them all gracefully (each hands over its role first). `--only 2` (re)starts one node alone,
e.g. after it was stopped or killed: it rejoins by itself.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PR_SET_PDEATHSIG = 1
NODES = (1, 2, 3)


def environment(node: int) -> dict[str, str]:
    addresses = [f"127.0.0.1:{9000 + n}" for n in NODES]
    return {
        **os.environ,
        "APP_NODE_ID": str(node),
        "APP_NODE_ADDRESS": addresses[node - 1],
        "APP_PEERS": ",".join(a for n, a in zip(NODES, addresses, strict=True) if n != node),
        "APP_DATA_DIR": str(ROOT / ".data" / f"node{node}"),
        "APP_API_PORT": str(8000 + node),
    }


def die_with_parent() -> None:
    """In the child: have the kernel send SIGTERM if this launcher dies, so that no node
    outlives it even when the launcher is killed outright."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start(node: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints"],
        env=environment(node),
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


def wait_ready(node: int, process: subprocess.Popen[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"node {node} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{8000 + node}/ready", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"node {node} was not ready after {seconds:.0f}s")


def stop_once(signum: int, frame: object) -> None:
    """The first Ctrl-C or SIGTERM stops the cluster; later ones must not cut that short."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", type=int, choices=NODES, help="start just this node")
    args = parser.parse_args()
    nodes = [args.only] if args.only else list(NODES)
    processes: dict[int, subprocess.Popen[str]] = {}
    signal.signal(signal.SIGINT, stop_once)
    signal.signal(signal.SIGTERM, stop_once)
    try:
        # All at once: a restarted cluster elects a leader only when a quorum is up, and
        # fresh nodes 2 and 3 keep asking to join until node 1 has bootstrapped.
        for node in nodes:
            processes[node] = start(node)
        for node in nodes:
            wait_ready(node, processes[node])
        print(
            f"cluster ready: API on {', '.join(f'127.0.0.1:{8000 + n}' for n in nodes)}", flush=True
        )
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
