"""The launchers' command lines: `python -m entrypoints` and scripts/cluster.py (`make cluster`).

Nothing here starts a server or a dqlite node: uvicorn.run is replaced, and cluster.py is
only asked what environment it would give each node.
"""

import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from entrypoints import __main__ as launcher

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port this test listens on, so that a server that tried to bind it would fail."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_help_prints_usage_and_starts_nothing(busy_port: int) -> None:
    environment = {
        **os.environ,
        "APP_STORAGE": "memory",
        "APP_API_HOST": "127.0.0.1",
        "APP_API_PORT": str(busy_port),
    }
    started = time.monotonic()

    result = subprocess.run(
        [sys.executable, "-m", "entrypoints", "--help"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "usage" in output
    assert "APP_API_PORT" in output
    assert "APP_STORAGE=memory" in output
    assert "--port" in output
    # A server would have failed to bind the busy port (exit 1), or would still be serving.
    assert "Uvicorn running" not in output
    assert "Started server process" not in output
    assert time.monotonic() - started < 30


class Served:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, app: FastAPI, **options: Any) -> None:
        self.calls.append({"app": app, **options})


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Served:
    served = Served()
    monkeypatch.setattr(uvicorn, "run", served)
    monkeypatch.setattr(logging, "basicConfig", lambda **_: None)
    monkeypatch.setenv("APP_STORAGE", "memory")
    monkeypatch.setenv("APP_API_HOST", "127.0.0.5")
    monkeypatch.setenv("APP_API_PORT", "8765")
    return served


def test_without_arguments_the_api_is_served_where_the_settings_say(served: Served) -> None:
    launcher.main([])

    [call] = served.calls
    assert (call["host"], call["port"]) == ("127.0.0.5", 8765)


def test_host_and_port_arguments_override_the_settings(served: Served) -> None:
    launcher.main(["--host", "127.0.0.9", "--port", "8123"])

    [call] = served.calls
    assert (call["host"], call["port"]) == ("127.0.0.9", 8123)
    settings = call["app"].state.container.settings()
    assert (settings.api_host, settings.api_port) == ("127.0.0.9", 8123)
    assert settings.storage == "memory"  # the rest still comes from the environment


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_a_port_that_is_not_one_is_refused_before_anything_starts(
    served: Served, port: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        launcher.main(["--port", port])

    assert exit_.value.code == 2
    assert served.calls == []


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """scripts/cluster.py, imported from its path (scripts/ is not a package)."""
    monkeypatch.delenv("CLUSTER_API_PORT_BASE", raising=False)
    monkeypatch.delenv("CLUSTER_DQLITE_PORT_BASE", raising=False)
    spec = importlib.util.spec_from_file_location("cluster_launcher", ROOT / "scripts/cluster.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def environment_from_command_line(cluster: ModuleType, node: int, *argv: str) -> Any:
    args = cluster.command_line().parse_args(argv)
    ports = cluster.Ports(args.host, args.api_port_base, args.dqlite_port_base)
    return cluster.environment(node, ports)


def test_by_default_cluster_nodes_use_the_ports_they_always_had(cluster: ModuleType) -> None:
    environment = environment_from_command_line(cluster, 2)

    assert environment["APP_API_HOST"] == "127.0.0.1"
    assert environment["APP_API_PORT"] == "8002"
    assert environment["APP_NODE_ADDRESS"] == "127.0.0.1:9002"
    assert environment["APP_PEERS"] == "127.0.0.1:9001,127.0.0.1:9003"


def test_cluster_node_2_listens_on_the_port_bases_given_plus_two(cluster: ModuleType) -> None:
    environment = environment_from_command_line(
        cluster, 2, "--api-port-base", "18000", "--dqlite-port-base", "19000", "--only", "2"
    )

    assert environment["APP_NODE_ID"] == "2"
    assert environment["APP_API_PORT"] == "18002"
    assert environment["APP_NODE_ADDRESS"] == "127.0.0.1:19002"
    assert environment["APP_PEERS"] == "127.0.0.1:19001,127.0.0.1:19003"


def test_cluster_host_is_where_nodes_listen_and_where_peers_are_found(
    cluster: ModuleType,
) -> None:
    environment = environment_from_command_line(cluster, 3, "--host", "10.1.2.3")

    assert environment["APP_API_HOST"] == "10.1.2.3"
    assert environment["APP_NODE_ADDRESS"] == "10.1.2.3:9003"
    assert environment["APP_PEERS"] == "10.1.2.3:9001,10.1.2.3:9002"


def test_cluster_port_bases_can_come_from_the_environment(
    cluster: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLUSTER_API_PORT_BASE", "28000")
    monkeypatch.setenv("CLUSTER_DQLITE_PORT_BASE", "29000")

    environment = environment_from_command_line(cluster, 1)

    assert environment["APP_API_PORT"] == "28001"
    assert environment["APP_NODE_ADDRESS"] == "127.0.0.1:29001"
    assert environment["APP_PEERS"] == "127.0.0.1:29002,127.0.0.1:29003"


def test_cluster_arguments_win_over_the_environment(
    cluster: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLUSTER_API_PORT_BASE", "28000")

    environment = environment_from_command_line(cluster, 1, "--api-port-base", "38000")

    assert environment["APP_API_PORT"] == "38001"


def test_cluster_only_still_picks_one_node_and_refuses_others(cluster: ModuleType) -> None:
    assert cluster.command_line().parse_args(["--only", "3"]).only == 3
    with pytest.raises(SystemExit):
        cluster.command_line().parse_args(["--only", "4"])


def test_the_three_cluster_nodes_share_one_token_signing_key_dir(
    cluster: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_AUTH_KEY_DIR", raising=False)

    dirs = {environment_from_command_line(cluster, n)["APP_AUTH_KEY_DIR"] for n in (1, 2, 3)}

    assert len(dirs) == 1
    assert dirs.pop().endswith("/.data/cluster-auth")
