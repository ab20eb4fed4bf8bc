"""`make soak` and `python -m tools.soak.memory`, in runs of a few seconds: they measure and
report (not whether anything grows: that takes the full run)."""

import json
import subprocess
import sys
from pathlib import Path

from tests.dqlite import free_address


def run_tool(*arguments: str) -> str:
    port = free_address().rpartition(":")[2]
    done = subprocess.run(
        [sys.executable, "-m", *arguments, "--port", port],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_short_soak_samples_the_log_the_snapshots_and_the_rss_and_judges_them(
    tmp_path: Path,
) -> None:
    output = run_tool(
        "tools.soak",
        *("--seconds", "4", "--sample-seconds", "1", "--rate", "40", "--out", str(tmp_path)),
        # Small enough to snapshot within seconds: the settings reach the app's node.
        *("--setting", "APP_SNAPSHOT_THRESHOLD=32", "--setting", "APP_SNAPSHOT_TRAILING=64"),
    )

    series = json.loads((tmp_path / "soak.json").read_text())
    samples = series["samples"]
    assert len(samples) >= 4
    assert sum(s["requests"] for s in samples) >= 100
    assert sum(s["errors"] for s in samples) == 0
    # libraft keeps the last two, and a third while it writes the next, before the oldest goes.
    assert 2 <= max(s["snapshots"] for s in samples) <= 3
    assert min(s["log_bytes"] for s in samples) > 0
    assert min(s["rss_kib"] for s in samples) > 10_000
    assert set(series["verdict"]) == {"log_bytes", "snapshot_bytes", "data_dir_bytes", "rss_kib"}
    assert "| verdict (last third's max against the middle's" in (tmp_path / "soak.md").read_text()
    assert "Verdict: raft log " in output


def test_a_short_memory_run_measures_a_node_at_each_size(tmp_path: Path) -> None:
    run_tool(
        "tools.soak.memory",
        *("--sizes", "100,2000", "--threshold", "16", "--trailing", "32"),
        *("--settle-seconds", "0.2", "--out", str(tmp_path)),
    )

    report = json.loads((tmp_path / "soak-memory.json").read_text())
    sizes = report["sizes"]
    assert [size["rows"] for size in sizes] == [100, 2000]
    assert sizes[0]["database_bytes"] < sizes[1]["database_bytes"]
    assert all(size["steady_rss_kib"] > 10_000 for size in sizes)
    assert all(size["disk"]["snapshots"] == 2 for size in sizes)
    assert "RSS per GB of database" in (tmp_path / "soak-memory.md").read_text()
