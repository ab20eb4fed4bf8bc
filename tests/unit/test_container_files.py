"""The container files, checked without building anything (`make test-containers` builds and
runs them): the compose file parses into three nodes that find each other by service name, and
every path the Containerfile copies is there and not left out of the build context."""

import fnmatch
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
NODES = ("node1", "node2", "node3")


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def instructions() -> list[tuple[str, str]]:
    """The Containerfile's instructions, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Containerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split()[0].upper(), line.partition(" ")[2])
        for line in lines
        if line and not line.startswith("#")
    ]


def ignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def test_the_compose_file_has_three_nodes_joining_the_first_by_service_name() -> None:
    services = compose()["services"]

    assert tuple(services) == NODES
    for n, name in enumerate(NODES, start=1):
        node = services[name]
        settings = node["environment"]
        assert settings["APP_NODE_ID"] == str(n)
        assert settings["APP_NODE_ADDRESS"] == f"{name}:9001"
        assert settings.get("APP_PEERS") == (None if n == 1 else "node1:9001")
        assert settings["APP_ENVIRONMENT"] == "production"
        assert node["ports"] == [f"127.0.0.1:800{n}:8000"]
        assert node["volumes"] == [f"{name}-data:/data"]
        assert node["secrets"] == ["auth_signing_key"]
        assert settings["APP_AUTH_SIGNING_KEY"] == "/run/secrets/auth_signing_key"


def test_the_compose_file_keeps_secrets_and_data_out_of_the_image() -> None:
    loaded = compose()

    assert set(loaded["volumes"]) == {f"{name}-data" for name in NODES}
    assert loaded["secrets"]["auth_signing_key"]["file"].endswith("/auth_signing_key.pem")
    assert ignored(".secrets")
    assert ignored(".data")
    assert ignored(".venv")


def test_every_path_the_containerfile_copies_exists_and_is_in_the_build_context() -> None:
    copied = [
        shlex.split(arguments)[:-1]
        for instruction, arguments in instructions()
        if instruction == "COPY" and not arguments.startswith("--from=")
    ]

    sources = [source for sources in copied for source in sources]
    assert {"pyproject.toml", "uv.lock", "src", "migrations", "alembic.ini"} <= set(sources)
    assert [s for s in sources if not (ROOT / s).exists() or ignored(s)] == []


def test_the_image_runs_the_app_as_a_user_with_its_data_in_a_volume_and_a_readiness_check() -> None:
    found = instructions()
    last_stage = found[max(i for i, (name, _) in enumerate(found) if name == "FROM") :]
    by_name: dict[str, list[str]] = {}
    for name, arguments in last_stage:
        by_name.setdefault(name, []).append(arguments)

    assert by_name["USER"] == ["app"]
    assert by_name["VOLUME"] == ["/data"]
    assert by_name["STOPSIGNAL"] == ["SIGTERM"]
    assert "/ready" in by_name["HEALTHCHECK"][0]
    assert by_name["ENTRYPOINT"] == ['["python", "-m", "entrypoints"]']
    assert [name for name, _ in found].count("FROM") == 2  # dependencies built apart


def test_the_tls_override_gives_each_node_its_own_certificate_as_secrets() -> None:
    loaded = yaml.safe_load((ROOT / "compose.tls.yaml").read_text())

    for name in NODES:
        node = loaded["services"][name]
        assert node["environment"]["APP_TLS_CERT"] == "/run/secrets/tls_cert"
        sources = {secret["target"]: secret["source"] for secret in node["secrets"]}
        assert sources == {
            "tls_ca": "tls_ca",
            "tls_cert": f"{name}_tls_cert",
            "tls_key": f"{name}_tls_key",
        }
    assert set(loaded["secrets"]) == {"tls_ca"} | {
        f"{name}_tls_{part}" for name in NODES for part in ("cert", "key")
    }
