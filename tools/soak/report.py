"""The soak's series, its verdict (do the raft log, the snapshots, the data dir and the app's
RSS stop growing?), and its report: docs/performance/soak.json and soak.md."""

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from tools.soak.load import MAX_IN_FLIGHT

# Judged figures: the last third of the run's maximum against the middle third's, which comes
# after the warm-up. A sawtooth (the log between snapshots, a snapshot's WAL), or an
# allocator's noise, stays within these; growth that goes on does not.
JUDGED = {
    "log_bytes": "raft log",
    "snapshot_bytes": "snapshots",
    "data_dir_bytes": "data dir",
    "rss_kib": "app RSS",
}
# Answers that are no failure: a 404 is a PATCH to a todo that a DELETE removed meanwhile.
FINE = ("200", "201", "204", "404")
TOLERANCE = 0.10
SLACK_BYTES = 2**20  # snapshots of a small database differ by more than 10% (their WALs)
SHORTEST = 6  # samples: two a third at least


@dataclass(frozen=True)
class Run:
    minutes: float
    rate: float
    live: int
    sample_seconds: float
    settings: dict[str, str]
    date: str


@dataclass(frozen=True)
class Sample:
    seconds: float
    log_bytes: int
    segments: int
    snapshot_bytes: int
    snapshots: int
    data_dir_bytes: int
    rss_kib: int
    requests: int
    errors: int
    p99_ms: float
    statuses: dict[str, int]  # e.g. "POST 201": 600, "skipped": 0, "ReadTimeout": 0


def failures(statuses: dict[str, int]) -> dict[str, int]:
    """The statuses that are failures: a status code not FINE, an HTTP error's name, or
    "skipped" (a request not sent: the app was answering too slowly, MAX_IN_FLIGHT waited)."""
    return {k: n for k, n in statuses.items() if k.rpartition(" ")[2] not in FINE}


def thirds(samples: list[Sample]) -> list[list[Sample]]:
    size = len(samples) // 3
    return [samples[:size], samples[size : 2 * size], samples[2 * size :]]


def verdict(samples: list[Sample]) -> dict[str, str]:
    """For each judged figure: "stopped growing", "grows", or why it cannot be told."""
    if len(samples) < SHORTEST:
        return dict.fromkeys(JUDGED, f"too short to tell ({len(samples)} samples)")
    _, middle, last = thirds(samples)
    found = {}
    for field in JUDGED:
        before = max(getattr(s, field) for s in middle)
        after = max(getattr(s, field) for s in last)
        slack = SLACK_BYTES // 1024 if field == "rss_kib" else SLACK_BYTES
        grew = after > before * (1 + TOLERANCE) + slack
        found[field] = "grows" if grew else "stopped growing"
    return found


def _mib(value: float) -> str:
    return f"{value / 2**20:.1f}"


def table(samples: list[Sample], judged: dict[str, str]) -> str:
    lines = [
        "| part of the run | raft log MB | snapshots MB (files) | data dir MB | app RSS MB "
        "| requests/s | errors | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    names = ("first third", "middle third", "last third")
    for name, part in zip(names, thirds(samples), strict=True):
        if not part:
            continue
        span = max(part[-1].seconds - part[0].seconds, 1e-9) if len(part) > 1 else 0
        rate = sum(s.requests for s in part[1:]) / span if span else 0.0
        lines.append(
            f"| {name} ({part[0].seconds / 60:.1f}-{part[-1].seconds / 60:.1f} min), max "
            f"| {_mib(max(s.log_bytes for s in part))} "
            f"| {_mib(max(s.snapshot_bytes for s in part))} "
            f"({max(s.snapshots for s in part)}) "
            f"| {_mib(max(s.data_dir_bytes for s in part))} "
            f"| {max(s.rss_kib for s in part) / 1024:.0f} "
            f"| {rate:.1f} | {sum(s.errors for s in part)} "
            f"| {max(s.p99_ms for s in part):.0f} |"
        )
    lines.append(
        "| verdict (last third's max against the middle's, "
        f"{TOLERANCE:.0%} + 1 MB allowed) | {judged['log_bytes']} | {judged['snapshot_bytes']} "
        f"| {judged['data_dir_bytes']} | {judged['rss_kib']} | | | |"
    )
    return "\n".join(lines)


def write(out: Path, run: Run, samples: list[Sample]) -> str:
    """Write soak.json and soak.md under `out`; the verdict, in one line."""
    judged = verdict(samples)
    out.mkdir(parents=True, exist_ok=True)
    series = {**asdict(run), "verdict": judged, "samples": [asdict(s) for s in samples]}
    (out / "soak.json").write_text(json.dumps(series, indent=2) + "\n")
    said = "; ".join(f"{JUDGED[field]} {found}" for field, found in judged.items())
    failed: Counter[str] = Counter()
    for sample in samples:
        failed.update(failures(sample.statuses))
    sent = sum(s.requests for s in samples)
    errors = ", ".join(f"{kind} {n}" for kind, n in sorted(failed.items())) or "none"
    settings = ", ".join(f"{k}={v}" for k, v in run.settings.items()) or "default settings"
    (out / "soak.md").write_text(
        f"# Soak: memory and disk under a steady write load\n\n`make soak` ({run.date}): the "
        f"app with its embedded node for {run.minutes:g} minutes, POST, PATCH and DELETE of "
        f"todos at {run.rate:g} requests/s, about {run.live} todos kept ({settings}); a sample "
        f"every {run.sample_seconds:g} s, the series in soak.json.\n\n{table(samples, judged)}"
        f"\n\nVerdict: {said}.\n\nErrors, of {sent} requests due: {errors} (skipped: not sent "
        f"while the app had {MAX_IN_FLIGHT} unanswered).\n"
    )
    return said
