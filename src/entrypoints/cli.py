"""`python -m entrypoints.cli`: cluster status and membership, leadership, migrations, backup
and restore, the domain events the relay parked, and people's roles (the API grants none).

The cluster is found through APP_NODE_ADDRESS and APP_PEERS, or --cluster host:port,...
"""

import argparse
import asyncio
import sys
from pathlib import Path

from dependency_injector import providers

from domain.people import Person
from entrypoints.container import Container
from entrypoints.settings import Settings
from service import identity
from service.contexts import IdentityUnitOfWork

PEOPLE_COMMANDS = ("grant-role", "revoke-role", "disable", "enable")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m entrypoints.cli", description=__doc__)
    parser.add_argument("--cluster", help="node addresses, comma-separated")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="nodes, their roles, and the leader")
    add = commands.add_parser("add", help="add a node (it must be running)")
    add.add_argument("node_id", type=int)
    add.add_argument("address")
    add.add_argument("--role", choices=("voter", "standby", "spare"), default="voter")
    assign = commands.add_parser("assign", help="change a node's role")
    assign.add_argument("node_id", type=int)
    assign.add_argument("role", choices=("voter", "standby", "spare"))
    remove = commands.add_parser("remove", help="remove a node from the cluster")
    remove.add_argument("node_id", type=int)
    transfer = commands.add_parser("transfer", help="make another voter the leader")
    transfer.add_argument("node_id", type=int)
    commands.add_parser("migrate", help="bring every context's schema to head")
    backup = commands.add_parser(
        "backup", help="an online copy of each context's database, as SQLite files in a folder"
    )
    backup.add_argument("directory", type=Path)
    restore = commands.add_parser("restore", help="a backup folder into empty databases")
    restore.add_argument("directory", type=Path)
    restore.add_argument(
        "--replace", action="store_true", help="delete what the databases hold first"
    )
    commands.add_parser("parked-events", help="events kept back after failing too often")
    retry = commands.add_parser("retry-event", help="deliver a parked event again")
    retry.add_argument("context", help="the context whose outbox holds the event")
    retry.add_argument("event_id", type=int)
    grant = commands.add_parser("grant-role", help="give a person a role, e.g. admin")
    revoke = commands.add_parser("revoke-role", help="take a role back")
    for command in (grant, revoke):
        command.add_argument("email")
        command.add_argument("role", choices=("admin",))
    disable = commands.add_parser(
        "disable", help="stop a person signing in (their refresh tokens stop at once)"
    )
    enable = commands.add_parser("enable", help="let a disabled person sign in again")
    for command in (disable, enable):
        command.add_argument("email")
    return parser


async def _change_person(container: Container, args: argparse.Namespace) -> Person:
    """Run one identity use case against the cluster, as a client of it (no node here)."""
    store = container.store()
    await store.start()
    try:
        uow = store.unit_of_work(IdentityUnitOfWork)
        match args.command:
            case "grant-role":
                return await identity.grant_role(uow, args.email, args.role)
            case "revoke-role":
                return await identity.revoke_role(uow, args.email, args.role)
            case _:
                return await identity.set_disabled(uow, args.email, args.command == "disable")
    finally:
        await store.stop()


async def _run(container: Container, args: argparse.Namespace) -> None:
    if args.command in PEOPLE_COMMANDS:
        person = await _change_person(container, args)
        state = "disabled" if person.disabled else "enabled"
        print(f"{person.email.text}: roles {sorted(person.roles) or 'none'}, {state}")
        return
    admin = container.cluster_admin()
    match args.command:
        case "status":
            view = await admin.status()
            for node in view.nodes:
                leads = "  (leader)" if node.node_id == view.leader_id else ""
                print(f"node {node.node_id}  {node.address}  {node.role}{leads}")
            if view.leader_id is None:
                print("no leader")
        case "add":
            await admin.add(args.node_id, args.address, args.role)
        case "assign":
            await admin.assign(args.node_id, args.role)
        case "remove":
            await admin.remove(args.node_id)
        case "transfer":
            await admin.transfer_leadership(args.node_id)
        case "migrate":
            leader = await admin.migrate()
            print(f"schema at head on the cluster led by {leader}")
        case "backup":
            for taken in await admin.backup(args.directory):
                print(f"{taken.path}: revision {taken.revision}, {_rows(taken.rows)}")
        case "restore":
            restoring = admin.restore(args.directory, replace=args.replace, progress=_progress)
            for restored in await restoring:
                print(
                    f"restored {restored.path.stem}: {_rows(restored.rows)} from revision "
                    f"{restored.revision}; at head"
                )
        case "parked-events":
            for context, event in await admin.parked_events():
                print(
                    f"{context}  {event.id}  {event.name}  {event.stream}  after "
                    f"{event.attempts} tries: {event.last_error}"
                )
        case "retry-event":
            if not await admin.retry_event(args.context, args.event_id):
                raise RuntimeError(f"no parked event {args.event_id} in {args.context}")
            print(f"{args.context} event {args.event_id} will be delivered again")


def _progress(table: str, copied: int, total: int) -> None:
    """A line on stderr that counts a restore's rows up, when stderr is a terminal."""
    if sys.stderr.isatty():
        end = "\n" if copied >= total else ""
        print(f"\r{table}: {copied}/{total} rows", end=end, file=sys.stderr, flush=True)


def _rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{table} {count}" for table, count in rows.items()) or "no tables"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    container = Container()
    settings = Settings()
    if args.cluster:
        first, *others = args.cluster.split(",")
        settings = Settings(node_address=first, peers=",".join(others))
    # A client of the running cluster: no node of its own, and the schema is the apps' to move.
    settings = settings.model_copy(update={"embedded_node": False, "migrate_on_startup": False})
    container.settings.override(providers.Object(settings))
    try:
        asyncio.run(_run(container, args))
    except Exception as error:  # an operator wants the reason, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
