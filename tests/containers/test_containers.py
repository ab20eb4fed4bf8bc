"""`make test-containers`: the image built from nothing, the compose cluster of compose.yaml
under a bank workload sent through its three APIs, its leader's container killed and started
again, the whole cluster taken down and up, then each container replaced by a newly built
image, one at a time. Figures are printed (time to ready, the failover's pause, the image's
size, build times); what is asserted is what may not go wrong: totals conserved, no transfer
lost, nothing unanswered.

Not part of `make test` (it takes minutes and runs containers); it uses docker or podman, as
scripts/containers does.
"""

import itertools
import json
import os
import random
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/dqlite-ddd-template"
PORTS = {1: 8001, 2: 8002, 3: 8003}
APIS = [f"http://127.0.0.1:{port}" for port in PORTS.values()]
ACCOUNTS, OPENING_CENTS = 6, 100_000
WORKERS = 6
PASSWORD = "containers are tested with this"


def containers(
    *arguments: str, image: str = f"{IMAGE}:latest", cwd: Path = ROOT, tls: bool = False
) -> str:
    done = subprocess.run(
        [str(cwd / "scripts" / "containers"), *arguments],
        cwd=cwd,
        env={**os.environ, "IMAGE": image, "TLS": "1" if tls else "0"},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, (
        f"scripts/containers {' '.join(arguments)}:\n{done.stdout}{done.stderr}"
    )
    return done.stdout


def timed(*arguments: str, image: str = f"{IMAGE}:latest", cwd: Path = ROOT) -> float:
    started = time.monotonic()
    containers(*arguments, image=image, cwd=cwd)
    return time.monotonic() - started


def container_of(node: int) -> str:
    names = containers("engine", "ps", "--all", "--format", "{{.Names}}").split()
    (name,) = [n for n in names if f"_node{node}_" in n or f"-node{node}-" in n]
    return name


def ready(api: str) -> bool:
    try:
        return httpx.get(f"{api}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_ready(api: str, within: float = 180) -> float:
    started = time.monotonic()
    while not ready(api):
        assert time.monotonic() - started < within, f"{api} not ready within {within}s"
        time.sleep(0.5)
    return time.monotonic() - started


def voter(api: str) -> bool:
    metrics = httpx.get(f"{api}/metrics", timeout=5).text
    return 'dqlite_node_role{role="voter"} 1.0' in metrics


def stopped_gracefully(node: int) -> float:
    """SIGTERM to the node's container, as `docker stop` sends it: the seconds it took, once it
    exited by itself (not killed after the engine's 10 s)."""
    name = container_of(node)
    started = time.monotonic()
    containers("engine", "stop", "--time", "10", name)
    took = time.monotonic() - started
    code = containers("engine", "inspect", "--format", "{{.State.ExitCode}}", name).strip()
    assert code == "0", f"node {node} exited with {code} after {took:.1f}s"
    return took


def leader() -> int:
    for api in APIS:
        try:
            metrics = httpx.get(f"{api}/metrics", timeout=2).text
        except httpx.HTTPError:
            continue
        for line in metrics.splitlines():
            if line.startswith("dqlite_leader_id ") and float(line.split()[1]) > 0:
                return int(float(line.split()[1]))
    raise AssertionError("no node knows a leader")


@dataclass
class Workload:
    """Transfers with a key each, through every API in turn; a key is sent again to the next
    API when one cannot be reached or answers 503, until a final answer."""

    headers: dict[str, str]
    accounts: list[int]
    acknowledged: list[float] = field(default_factory=list)  # when each 201 came
    refused: int = 0  # 409: more than the account held
    unanswered: list[str] = field(default_factory=list)  # keys with no final answer
    server_errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._stop.clear()
        self._threads = [threading.Thread(target=self._work, args=(n,)) for n in range(WORKERS)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def longest_pause(self, since: float) -> float:
        times = sorted(t for t in self.acknowledged if t >= since)
        return max((b - a for a, b in itertools.pairwise(times)), default=0.0)

    def _work(self, worker: int) -> None:
        rng = random.Random(worker)
        with httpx.Client(headers=self.headers, timeout=15, trust_env=False) as client:
            while not self._stop.is_set():
                source, target = rng.sample(self.accounts, 2)
                body = {
                    "from_account": source,
                    "to_account": target,
                    "amount_cents": rng.randint(1, 500),
                }
                self._send(client, f"c{worker}-{uuid.uuid4().hex}", body, rng.randrange(3))

    def _send(self, client: httpx.Client, key: str, body: dict[str, int], first: int) -> None:
        deadline = time.monotonic() + 60
        n = first
        while time.monotonic() < deadline:
            api = APIS[n % len(APIS)]
            n += 1
            try:
                answer = client.post(
                    f"{api}/transfers", json=body, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if answer.status_code == 201:
                self.acknowledged.append(time.time())
                return
            if answer.status_code == 409:
                self.refused += 1
                return
            if answer.status_code == 503:
                time.sleep(0.2)
                continue
            self.server_errors.append(f"{api} {answer.status_code} {answer.text[:200]}")
            return
        self.unanswered.append(key)


def signed_in(api: str) -> dict[str, str]:
    email = f"c-{uuid.uuid4().hex[:8]}@example.org"
    person = {"email": email, "password": PASSWORD}
    assert httpx.post(f"{api}/auth/register", json=person, timeout=30).status_code == 201
    form = {"username": email, "password": PASSWORD}
    token = httpx.post(f"{api}/auth/token", data=form, timeout=30).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def open_accounts(api: str, headers: dict[str, str]) -> list[int]:
    opened = []
    for n in range(ACCOUNTS):
        body = {"holder": f"holder {n}", "balance_cents": OPENING_CENTS}
        answer = httpx.post(f"{api}/accounts", json=body, headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
        opened.append(answer.json()["id"])
    return opened


def balances(api: str, headers: dict[str, str], accounts: list[int]) -> list[int]:
    return [
        httpx.get(f"{api}/accounts/{account}", headers=headers, timeout=30).json()["balance_cents"]
        for account in accounts
    ]


@pytest.fixture
def cluster_cleaned_up() -> Iterator[None]:
    containers("clean")
    try:
        yield
    finally:
        containers("clean")


def test_a_compose_cluster_survives_its_leader_killed_a_restart_and_a_rolling_replacement(
    cluster_cleaned_up: None, tmp_path: Path
) -> None:
    containers("base")  # the registry's images, or their local stand-ins where none is reachable
    containers("engine", "rmi", "--force", f"{IMAGE}:latest", f"{IMAGE}:next")
    cold = timed("image", "--no-cache")
    size = int(containers("engine", "image", "inspect", f"{IMAGE}:latest", "--format", "{{.Size}}"))
    changed = tmp_path / "changed"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (changed / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, changed / name)
    with (changed / "src" / "entrypoints" / "__init__.py").open("a") as source:
        source.write("# a change to the code only\n")
    warm = timed("image", image=f"{IMAGE}:next", cwd=changed)

    started = time.monotonic()
    containers("up")
    to_ready = time.monotonic() - started
    headers = signed_in(APIS[0])
    accounts = open_accounts(APIS[0], headers)
    total = ACCOUNTS * OPENING_CENTS
    workload = Workload(headers, accounts)
    workload.start()
    try:
        time.sleep(5)
        killed = leader()
        killed_at = time.time()
        containers("engine", "kill", container_of(killed))
        time.sleep(10)
        served_while_down = sum(1 for t in workload.acknowledged if t > killed_at + 1)
        pause = workload.longest_pause(killed_at - 1)
        containers("engine", "start", container_of(killed))
        rejoined = wait_ready(APIS[killed - 1])
        time.sleep(3)
    finally:
        workload.stop()
    assert served_while_down > 0
    assert voter(APIS[killed - 1])  # back in the cluster it left, from its volume
    assert sum(balances(APIS[0], headers, accounts)) == total
    before_restart = balances(APIS[killed - 1], headers, accounts)

    containers("down")
    containers("up")
    assert balances(APIS[2], headers, accounts) == before_restart

    replaced_from = time.time()
    workload.start()
    try:
        stops = []
        for node in PORTS:
            stops.append(stopped_gracefully(node))
            containers("replace", f"node{node}", image=f"{IMAGE}:next")
            wait_ready(APIS[node - 1])
            time.sleep(2)
    finally:
        workload.stop()
    images = {
        containers("engine", "inspect", "--format", "{{.ImageName}}", container_of(n)).strip()
        for n in PORTS
    }
    during_replacement = sum(1 for t in workload.acknowledged if t > replaced_from)

    print(
        json.dumps(
            {
                "image_mb": round(size / 1e6),
                "cold_build_s": round(cold),
                "build_src_changed_s": round(warm),
                "compose_up_to_ready_s": round(to_ready, 1),
                "leader_killed": killed,
                "failover_pause_s": round(pause, 2),
                "killed_node_ready_again_s": round(rejoined, 1),
                "acknowledged_during_replacement": during_replacement,
                "graceful_stops_s": [round(took, 1) for took in stops],
                "refused_409": workload.refused,
            }
        )
    )
    assert images == {f"{IMAGE}:next"}
    assert all(voter(api) for api in APIS)
    assert workload.server_errors == []
    assert workload.unanswered == []
    assert sum(balances(APIS[1], headers, accounts)) == total


def test_the_nodes_of_the_compose_cluster_can_talk_mutual_tls(cluster_cleaned_up: None) -> None:
    containers("image")  # built already by the test before: from its cache
    containers("up", tls=True)
    try:
        headers = signed_in(APIS[0])
        accounts = open_accounts(APIS[1], headers)
        moved = {"from_account": accounts[0], "to_account": accounts[1], "amount_cents": 7}
        answer = httpx.post(
            f"{APIS[2]}/transfers", json=moved, headers={**headers, "Idempotency-Key": "tls-1"}
        )
        assert answer.status_code == 201, answer.text
        assert balances(APIS[0], headers, accounts[:2]) == [OPENING_CENTS - 7, OPENING_CENTS + 7]
        assert all(voter(api) for api in APIS)
        certificate = containers("engine", "exec", container_of(2), "printenv", "APP_TLS_CERT")
        assert certificate.strip() == "/run/secrets/tls_cert"
    finally:
        containers("clean", tls=True)
