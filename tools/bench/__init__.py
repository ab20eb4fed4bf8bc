"""`make bench`: the app's throughput and latency against the raw driver and go-dqlite's own
benchmark, measured in one run on this machine (see docs/performance.md)."""
