"""Entities, value objects, query objects and repository interfaces. Imports no framework."""
