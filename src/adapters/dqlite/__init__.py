"""The platform on dqlite: the embedded node (node.py), its membership in a cluster
(membership.py), the leader it follows (leader.py), how the app dials a node (dialing.py), TLS
between nodes and to them (tls.py), TCP keepalive on their connections (keepalive.py), the
engines (engine.py), what driver errors mean (errors.py), one bounded context's database
(database.py) with its unit of work (unit_of_work.py), writers' queue (writers.py) and group
commit (group_commit.py), migrations (migrations.py), operator commands (admin.py), online
backup and restore (backup.py), and the store that composes them (store.py), the app's one way
in."""
