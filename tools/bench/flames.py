"""Flame graphs of the app under a wrk load, sampled by py-spy from outside the process."""

import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RATE = 200  # samples per second
ATTACH_SECONDS = 1  # py-spy reads the process's memory maps before it samples


def py_spy() -> str | None:
    """The venv's py-spy (a dev dependency), else one on PATH."""
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


def record_flame(
    pid: int, svg: Path, seconds: float, load: Callable[[float], object]
) -> str | None:
    """Sample process `pid` (and any it starts) into `svg` while `load(duration)` runs; None,
    or why nothing was written (py-spy missing, attaching refused)."""
    executable = py_spy()
    if executable is None:
        return "not recorded: no py-spy (scripts/uv sync installs the dev dependencies)"
    svg.parent.mkdir(parents=True, exist_ok=True)
    command = [executable, "record", "--format", "flamegraph", "--rate", str(RATE)]
    # The load starts once py-spy has attached and outlasts its sampling; py-spy drops idle
    # samples, so the graph is of the load alone.
    duration = max(1, round(seconds)) + ATTACH_SECONDS
    command += ["--pid", str(pid), "--duration", str(duration), "--subprocesses"]
    # Not --nonblocking: read while the process runs, two thirds of the stacks of a 16-client
    # GET load came out cut short (frames of a coroutine without the loop's below them); the
    # pauses cost that load about 9% of its requests/s instead.
    command += ["--output", str(svg)]
    spy = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(ATTACH_SECONDS)
    if spy.poll() is None:
        load(duration)
    output, _ = spy.communicate(timeout=duration + 60)
    if spy.returncode != 0 or not svg.exists():
        why = output.strip().splitlines()[0] if output.strip() else f"exit {spy.returncode}"
        return f"not recorded: py-spy failed ({why})"
    return None
