"""Memory and disk over time: `make soak` (a steady write load through the API for 30 minutes,
sampling the raft log, the snapshots and the app's RSS) and `python -m tools.soak.memory` (a
node's RAM per database size)."""
