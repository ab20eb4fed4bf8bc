"""`make bench ARGS="--scale"`, as a smoke run at one small size: every request and operation
is measured and reported (not how fast). A file of its own, so that pytest-xdist runs it beside
the other bench smoke run rather than after it."""

import json
from pathlib import Path

from tests.integration.test_bench import bench
from tools.bench.queries import DEEP, FIRST, LISTINGS, POINT_READS, READY, WRITE
from tools.bench.scale import SMOKE_SIZE
from tools.bench.scale_report import OPERATIONS


def test_a_smoke_run_at_scale_measures_every_request_and_operation(tmp_path: Path) -> None:
    done = bench("--scale", "--smoke", "--out", str(tmp_path), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr

    results = json.loads((tmp_path / "performance" / "scale.json").read_text())
    [size] = results["sizes"]
    assert size["rows"] == SMOKE_SIZE
    lists = [f"{x.name} ({page})" for x in LISTINGS for page in (FIRST, DEEP)]
    expected = {*POINT_READS, *lists, WRITE, READY}
    assert set(size["queries"]) == expected, sorted(expected ^ set(size["queries"]))
    assert size["skipped"] == {}
    for name, figure in size["queries"].items():
        assert figure["operations"] > 0, name
        assert figure["p50_ms"] > 0, name
        assert figure["errors"] == 0, name
    deep = size["queries"][f"{LISTINGS[0].name} ({DEEP})"]
    assert deep["before"] == int(deep["matches"] * 0.9) > 0  # done=true: half the todos
    measured = {"fill_s": size["fill_s"], **size["node"], **size["operations"]}
    assert set(OPERATIONS) - set(measured) == {"restore_stopped_s"}  # the restore finished
    assert all(value > 0 for value in measured.values()), measured

    isolation = results["isolation"]
    assert isolation["load"]["request"] in lists
    assert isolation["load"]["reads"] > 0
    for reads in ("raw_alone", "raw_loaded", "app_alone", "app_loaded"):
        assert isolation[reads]["reads"] > 0, reads
        assert isolation[reads]["p99_ms"] > 0, reads
    for reads in ("raw_alone", "raw_loaded"):
        assert isolation[reads]["p99_corrected_ms"] > 0, reads
    assert isinstance(isolation["met"], bool)

    assert (tmp_path / "performance" / "scale.png").read_bytes().startswith(b"\x89PNG")
    report = (tmp_path / "performance" / "scale.md").read_text()
    assert f"### {SMOKE_SIZE:,} rows in each table" in report
    assert "Target: raw point reads p99 <= 20 ms under the load" in report
