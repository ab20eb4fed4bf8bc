"""The stack's floors: FastAPI with the app's todo routes and models over less and less of the
app's stack, each run as `python -m tools.bench.floors.<name> --port P --node ADDRESS`."""
