"""A cluster whose nodes talk mutual TLS: to each other, and with the apps' clients.

Certificates are made here with openssl: one CA for the cluster, one certificate per node, and
a rogue CA whose certificates must get nowhere.
"""

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dqlitedbapi
import httpx
import pytest

from adapters.contexts import CONTEXTS
from adapters.dqlite.admin import ClusterAdmin
from adapters.dqlite.leader import ClusterView
from adapters.dqlite.node import DqliteNode
from adapters.dqlite.tls import TlsFiles, tls_dialer
from tests.dqlite import free_address
from tests.integration.bank_workload import open_accounts
from tests.integration.cluster import Cluster

SERVER_AND_CLIENT = (
    "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
    "keyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n"
    "authorityKeyIdentifier=keyid\n"
)


def openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def make_ca(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", directory / "ca.key", "-out", directory / "ca.crt", "-days", "2",
        "-subj", f"/CN={directory.name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return directory / "ca.crt"


def make_certificate(ca_dir: Path, name: str) -> TlsFiles:
    key, request, cert = (ca_dir / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
    extensions = ca_dir / "extensions.cnf"
    extensions.write_text(SERVER_AND_CLIENT)
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", request, "-subj", f"/CN={name}",
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", request, "-CA", ca_dir / "ca.crt", "-CAkey", ca_dir / "ca.key",
        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", extensions,
    )  # fmt: skip
    return TlsFiles(cert=cert, key=key, ca=ca_dir / "ca.crt")


def tls_env(files: TlsFiles) -> dict[str, str]:
    return {
        "APP_TLS_CERT": str(files.cert),
        "APP_TLS_KEY": str(files.key),
        "APP_TLS_CA": str(files.ca),
    }


@pytest.fixture(scope="module")
def cluster_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cluster-ca")
    make_ca(directory)
    return directory


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, cluster_ca: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("tls-cluster"))
    for node_id, app in cluster.apps.items():
        app.extra_env = tls_env(make_certificate(cluster_ca, f"node{node_id}"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def view(cluster: Cluster, files: TlsFiles | None) -> ClusterView:
    dial = tls_dialer(files) if files else None
    return asyncio.run(ClusterAdmin(cluster.addresses, CONTEXTS, dial=dial).status())


def test_nodes_behind_tls_form_a_cluster_of_three_voters_that_replicates_writes(
    cluster: Cluster, cluster_ca: Path
) -> None:
    operator = make_certificate(cluster_ca, "operator")
    status = view(cluster, operator)
    leader = cluster.apps[status.leader_id or 0]
    follower = next(app for app in cluster.apps.values() if app is not leader)

    [account] = open_accounts(leader.base_url, count=1)
    read_on_follower = httpx.get(f"{follower.base_url}/ledger/accounts/{account}", trust_env=False)

    assert [node.role for node in status.nodes] == ["voter"] * 3
    assert read_on_follower.status_code == 200, read_on_follower.text
    for app in cluster.apps.values():
        ready = httpx.get(f"{app.base_url}/ready", trust_env=False, timeout=10)
        assert ready.status_code == 200, ready.text


def test_a_client_without_a_certificate_of_the_cluster_gets_nothing_from_a_node(
    cluster: Cluster, tmp_path: Path
) -> None:
    make_ca(tmp_path / "rogue-ca")
    rogue = make_certificate(tmp_path / "rogue-ca", "rogue")
    address = cluster.addresses[0]
    database = CONTEXTS[0].name  # one of the app's databases

    with pytest.raises(dqlitedbapi.Error):  # plain TCP: the TLS front drops it
        dqlitedbapi.connect(address, database=database, timeout=2).cursor().execute("SELECT 1")
    with pytest.raises(dqlitedbapi.Error):  # TLS, but its certificate is not the cluster's
        connection = dqlitedbapi.connect(
            address, database=database, timeout=2, dial_func=tls_dialer(rogue)
        )
        connection.cursor().execute("SELECT 1")
    with pytest.raises(Exception, match="leader"):
        view(cluster, rogue)


def test_writes_go_on_over_tls_after_the_leader_is_killed(
    cluster: Cluster, cluster_ca: Path
) -> None:
    operator = make_certificate(cluster_ca, "operator")
    leader = cluster.apps[view(cluster, operator).leader_id or 0]
    survivor = next(app for app in cluster.apps.values() if app is not leader)

    os.kill(leader.pid, signal.SIGKILL)
    leader.wait(timeout=10)
    accounts = open_accounts(survivor.base_url, count=3)  # waits out the election (retries)

    assert len(accounts) == 3
    assert view(cluster, operator).leader_id not in (None, leader.node_id)


def test_a_node_with_certificates_may_listen_beyond_loopback(
    tmp_path: Path, cluster_ca: Path
) -> None:
    files = make_certificate(cluster_ca, "wide")
    port = free_address().rpartition(":")[2]
    node = DqliteNode(1, f"0.0.0.0:{port}", tmp_path / "node1", tls=files)

    node.start()
    try:
        assert node.running
    finally:
        node.stop()
