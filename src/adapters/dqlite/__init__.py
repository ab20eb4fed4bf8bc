"""The platform on dqlite: the embedded node (node.py), its membership in a cluster
(membership.py), the leader it follows (leader.py), the engine (engine.py), what driver errors
mean (errors.py), the unit of work (unit_of_work.py) and its writers' queue (writers.py),
migrations (migrations.py), operator commands (admin.py), and the store that composes them
(store.py), the app's one way in."""
