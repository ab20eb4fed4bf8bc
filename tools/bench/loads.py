"""The wrk loads of each endpoint, at each client count, against the app or a floor."""

from tools.bench.measure import Figure, from_wrk, wrk

ACCOUNTS = 10
LINEARIZABLE_GET = "GET /accounts/{id} (linearizable)"
ENDPOINTS = {  # target: (wrk script, the arguments it takes after the run's tag)
    "POST /todos": ("post_todos.lua", []),
    "GET /todos/{key}": ("get_todo.lua", ["seed-1"]),
    "GET /todos?key_contains": ("list_todos.lua", []),
    "POST /transfers": ("post_transfers.lua", [str(ACCOUNTS)]),
    # A point read as GET /todos/{key} is, but linearizable (a read barrier first): the price
    # of the level over HTTP, beside the same read at each level through the store
    # (tools/bench/consistency.py).
    LINEARIZABLE_GET: ("get_path.lua", ["/accounts/1"]),
}
# What verifying a bearer token costs: two routes that touch no store, one open and one that
# verifies the token (EdDSA) and builds the principal. The store does not change it, so these
# run on the in-memory backend only.
AUTH_ENDPOINTS = {
    "GET /health (open)": ("get_path.lua", ["/health", "open"]),
    "GET /auth/me (token verified)": ("get_path.lua", ["/auth/me"]),
}


def load(
    url: str,
    endpoints: dict[str, tuple[str, list[str]]],
    backend: str,
    clients: list[int],
    seconds: float,
    authorization: str = "",
    tag: str = "",
) -> list[Figure]:
    """Each endpoint at each client count: a warm-up (none in a smoke run of loads under 2 s),
    then `seconds` measured; `tag` keeps the keys of one server's POSTs apart from another's."""
    figures = []
    for target, (script, arguments) in endpoints.items():
        for count in clients:
            run_tag = f"{tag or backend}{count}"
            if seconds >= 2:
                warm_up = max(1.0, seconds / 5)
                wrk(url, script, count, warm_up, [f"{run_tag}w", *arguments], authorization)
            summary = wrk(url, script, count, seconds, [run_tag, *arguments], authorization)
            figures.append(from_wrk(target, backend, count, summary))
            print(
                f"  {target:<30} {backend:<8} {count:>3} clients: "
                f"{figures[-1].throughput:8.0f}/s p99 {figures[-1].p99_ms:7.1f} ms "
                f"errors {figures[-1].errors}",
                flush=True,
            )
    return figures
