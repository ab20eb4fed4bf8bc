"""The container tests build images and run containers for minutes: collected only when asked
for (`make test-containers` sets TEST_CONTAINERS=1), never by a plain `pytest tests`."""

import os

collect_ignore_glob = [] if os.environ.get("TEST_CONTAINERS") == "1" else ["test_*.py"]
