# `make run` serves the API on an embedded dqlite node; `make test` runs every check.
# Both install what they need first (scripts/setup), so they work on a fresh machine.
UV := scripts/uv
RUN := $(UV) run --locked

.PHONY: help setup run cluster test lint unit-without-dqlite pytest partitions format migration aggregate fork client image compose-up compose-down compose-clean test-containers soak bench

help:
	@echo "make run     serve the API at 127.0.0.1:8000 on an embedded dqlite node"
	@echo "make cluster three app processes forming a dqlite cluster (API on 8001-8003)"
	@echo "make test    lint, type-check, layer rules, and every test"
	@echo "make partitions  the network partition tests at full length"
	@echo "make format  apply ruff's formatting and fixes"
	@echo "make migration CONTEXT=billing name=\"add invoices\"   autogenerate a migration of a context's database"
	@echo "make aggregate NAME=invoice FIELDS=\"number:str! amount_cents:int paid:bool due:date note:str?\" CONTEXT=billing"
	@echo "            write a new aggregate into a context, existing or new: each one its creator's"
	@echo "            (OWNED=no: shared by everyone signed in)"
	@echo "make fork NAME=billing   start a new service from this template, without the examples"
	@echo "make client              docs/openapi.json and the Python client in clients/python, from the app's routes"
	@echo "make bench   throughput and latency against the raw driver and go-dqlite (docs/performance.md)"
	@echo "make bench ARGS=\"--scale\"   the example tables at 10^4, 10^5, 10^6 rows: lists, restart, backup,"
	@echo "            restore, a new node's catch-up (docs/performance/scale.md)"
	@echo "make soak    a steady write load for 30 minutes (SOAK_MINUTES=n): do the raft log, the"
	@echo "            snapshots and the app's RSS stop growing? (docs/performance/soak.md)"
	@echo "make image   the container image (Containerfile), with docker or podman"
	@echo "make compose-up / compose-down / compose-clean   three nodes in containers (compose.yaml),"
	@echo "            APIs on 127.0.0.1:8001-8003; down keeps the volumes, clean removes them"
	@echo "make test-containers   build the image from nothing, then kill, restart and replace the"
	@echo "            containers of a compose cluster under a bank workload"

setup:
	@scripts/setup

run: setup
	$(RUN) python -m entrypoints

cluster: setup
	$(RUN) python scripts/cluster.py $(if $(only),--only $(only)) $(ARGS)

test: setup lint unit-without-dqlite pytest

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports

# The unit tests must pass on a machine without libdqlite or the dqlite Python packages.
unit-without-dqlite:
	$(RUN) python -m pytest -p tests.without_dqlite tests/unit -q

# Four workers on two cores: most of the time goes to waiting (elections, timeouts, processes
# starting), not to the CPU. A module's tests stay on one worker, with its module fixtures.
# The unit tests ran just before, without dqlite (unit-without-dqlite): here, the rest.
pytest:
	$(RUN) python -m pytest -q --durations=25 -n 4 --dist loadfile --ignore=tests/unit

# The partition tests with the flapping nemesis at full length (30 s; 12 s in `make test`).
partitions: setup
	PARTITION_FLAPPING_SECONDS=30 $(RUN) python -m pytest -q -s tests/integration/test_partitions.py

format:
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

migration: setup
	$(RUN) python scripts/new_migration.py "$(CONTEXT)" "$(name)"

aggregate: setup
	$(RUN) python -m tools.aggregate "$(NAME)" "$(FIELDS)" --context "$(CONTEXT)" $(if $(PLURAL),--plural "$(PLURAL)") $(if $(OWNED),--owned "$(OWNED)")

fork: setup
	$(RUN) python -m tools.fork "$(NAME)"

client: setup
	$(RUN) python -m tools.openapi

bench: setup
	$(RUN) python -m tools.bench $(ARGS)

soak: setup
	$(RUN) python -m tools.soak $(ARGS)

image:
	scripts/containers image

compose-up:
	scripts/containers up

compose-down:
	scripts/containers down

compose-clean:
	scripts/containers clean

# Not part of `make test`: it builds images and runs containers for minutes. `make test` checks
# the container files statically (tests/unit/test_container_files.py).
test-containers: setup
	TEST_CONTAINERS=1 $(RUN) python -m pytest -q -s tests/containers
