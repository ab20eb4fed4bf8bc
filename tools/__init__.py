"""The template's own tools: `make aggregate` (aggregate.py) and `make fork` (fork.py)."""
