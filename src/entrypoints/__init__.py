"""The HTTP API, its settings, and the container that wires adapters to use cases."""
