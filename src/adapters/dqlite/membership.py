"""A node's place in its dqlite cluster: who it is, how it joins, how it leaves.

libdqlite 1.11 has no auto-join, roles manager or handover; like go-dqlite's `app` package,
this module does that work through the wire client.
"""

import asyncio
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dqliteclient import ClusterClient, ClusterError, OperationalError
from dqlitewire.constants import NodeRole

from adapters.dqlite.dialing import DialFunc
from adapters.dqlite.leader import (
    CLIENT_ERRORS,
    PROBE_TIMEOUT_SECONDS,
    LeaderTracker,
    cluster_client,
)

logger = logging.getLogger(__name__)

VOTERS_WANTED = 3
JOIN_SETTLE_SECONDS = 1.0  # longer than nodes started together take to join
MEMBERSHIP_FILE = "cluster.json"
RETRY_SECONDS = 0.5
WATCH_SECONDS = 1.0  # how often a promotion under way checks who leads
PROGRESS_LOG_SECONDS = 10.0
# A promotion is answered when it ends; libraft bounds it, not this (see Promotion).
PROMOTION_ANSWER_SECONDS = 24 * 3600.0
# A node stopping mid-promotion waits this long at most for a cluster that does not answer.
STEP_BACK_PATIENCE_SECONDS = 30.0
# How libdqlite 1.11 answers a configuration change that libraft refuses: RAFT_CANTCHANGE (a
# change under way) as SQLITE_BUSY, RAFT_BADROLE (e.g. the role it has) as SQLITE_ERROR.
CHANGE_UNDER_WAY = 5
RAFT_REFUSED = 1
GAVE_UP_CATCHING_UP = "no connection to remote server available"  # RAFT_NOCONNECTION's text


@dataclass
class Membership:
    """What a node keeps in its data dir to rejoin after a restart without being told."""

    node_id: int
    address: str
    peers: list[str] = field(default_factory=list)  # every node address known, own included

    @classmethod
    def load(cls, data_dir: Path) -> "Membership | None":
        path = data_dir / MEMBERSHIP_FILE
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))

    def save(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        scratch = data_dir / f"{MEMBERSHIP_FILE}.new"
        scratch.write_text(json.dumps(asdict(self), indent=2))
        scratch.replace(data_dir / MEMBERSHIP_FILE)  # atomic: a crash leaves old or new


async def join(
    membership: Membership, within_seconds: float, dial: DialFunc | None = None
) -> "Promotion":
    """Make this node a member within `within_seconds` (added as a spare), then have it take
    the role the cluster wants of it: a voter while the cluster has fewer than three, else a
    standby. Idempotent: a voter stays a voter; a standby or spare moves up to what is wanted.

    Returns the promotion, which goes on in the background if the leader is still catching
    the node up after `within_seconds` (minutes for a long log): the app starts meanwhile.
    """
    deadline = time.monotonic() + within_seconds
    promotion = Promotion(membership, dial)
    await promotion.wait_until_member(within_seconds)
    if not await promotion.finished_within(deadline - time.monotonic()):
        logger.warning(
            "node %s is not yet a voter after the start-up timeout (%.0f s): %s. The app starts "
            "meanwhile; /ready says why it is not ready until the node votes",
            membership.node_id,
            within_seconds,
            promotion.waiting_for,
        )
    return promotion


class Promotion:
    """This node's way to the role the cluster wants of it, as a task of its own.

    libraft makes a node a voter only once it has caught the node's log up with the leader's
    (minutes for a long log), and refuses every other configuration change meanwhile ("a
    configuration change is already in progress", SQLITE_BUSY). It catches up in rounds, each
    up to the leader's last entry when it began, and answers the request when the promotion
    ends: made, or given up once a round lasts over 50 s or the 100th is still slow (libdqlite
    1.11's settings). Given up, it is asked again, and goes on from where the node got to.
    """

    def __init__(self, membership: Membership, dial: DialFunc | None = None) -> None:
        self.node_id = membership.node_id
        self._address = membership.address
        self._dial = dial
        self._others = [peer for peer in membership.peers if peer != membership.address]
        self._client = cluster_client(self._others, dial=dial)
        self._started = time.monotonic()
        self._member = asyncio.Event()
        self._stopping = False
        self.waiting_for = "asking the cluster for its members"
        self._logged: tuple[str, float] | None = None  # what was logged last, and when
        self._task = asyncio.create_task(self._run(), name=f"promotion of node {self.node_id}")
        self._task.add_done_callback(self._log_failure)

    @property
    def progress(self) -> str:
        """A check of /ready: "ok" once the node holds its role, else what it waits for."""
        if not self._task.done():
            return f"joining for {time.monotonic() - self._started:.0f} s: {self.waiting_for}"
        error = None if self._task.cancelled() else self._task.exception()
        return "ok" if error is None else f"could not take its role in the cluster: {error}"

    async def wait_until_member(self, seconds: float) -> None:
        """Until the node is in the cluster's configuration; TimeoutError after `seconds`."""
        member = asyncio.create_task(self._member.wait())
        try:
            await asyncio.wait(
                {member, self._task}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            member.cancel()
        if self._task.done():
            self._task.result()  # what made it end, if anything did
        elif not self._member.is_set():
            self._task.cancel()  # it asked for nothing yet: it is not a member
            await asyncio.gather(self._task, return_exceptions=True)
            raise TimeoutError(f"could not join the cluster at {self._others}: {self.waiting_for}")

    async def finished_within(self, seconds: float) -> bool:
        await asyncio.wait({self._task}, timeout=max(seconds, 0))
        return self._task.done()

    async def stop(self) -> None:
        """Ask for nothing more; before the node stops, see that no promotion of it is left
        under way (waited for, and undone if it made the node a voter): the leader would
        otherwise finish it on the last acknowledgements the node sent, leaving a voter that
        is not running, and a cluster of one live voter out of two with no majority."""
        if self._task.done():
            return
        self._stopping = True
        logger.warning(
            "node %s is stopping while it joins: it stops once no promotion of it is under "
            "way (libraft ends one within a catch-up round, 50 s at most), and not as a voter. "
            "It was waiting for this: %s",
            self.node_id,
            self.waiting_for,
        )
        await asyncio.gather(self._task, return_exceptions=True)  # a request under way is answered
        await self._step_back()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                if await self._step():
                    return
                continue  # it was added: on to its role at once
            except CLIENT_ERRORS as error:
                self._note(_what_it_means(error))
            await asyncio.sleep(RETRY_SECONDS)

    async def _step(self) -> bool:
        """One look at the configuration and what follows; True once there is nothing to do."""
        nodes = await self._client.cluster_info()
        me = next((n for n in nodes if n.node_id == self.node_id), None)
        if me is None:
            await self._client.add_node(self.node_id, self._address)  # as a spare
            self._member.set()
            self.waiting_for = "added as a spare, asking for its role"
            logger.info("node %s joined as a spare", self.node_id)
            return False
        self._member.set()
        others = sum(1 for n in nodes if n.role == NodeRole.VOTER and n is not me)
        wanted = NodeRole.VOTER if others < VOTERS_WANTED else NodeRole.STANDBY
        if me.role in (NodeRole.VOTER, wanted) or self._stopping:
            return True
        if wanted == NodeRole.STANDBY:
            await self._client.assign_role(self.node_id, NodeRole.STANDBY)
            logger.info("node %s is now standby", self.node_id)
            return True
        await self._ask_for_vote()
        logger.info(
            "node %s is now voter, after %.0f s", self.node_id, time.monotonic() - self._started
        )
        await _give_way_to_lower_voters(self._client, self.node_id)
        return True

    async def _ask_for_vote(self) -> None:
        """Ask the leader to make this node a voter, and wait for its answer, which comes when
        the promotion ends. The request stays open until then: libdqlite 1.11 frees a closed
        connection while raft still holds a change request of it, and writes the answer there."""
        leader = await self._client.find_leader()
        asking = asyncio.create_task(_assign_voter(leader, self.node_id, self._dial))
        try:
            await self._watch(asking, leader)
        finally:
            asking.cancel()  # only if the leader changed, or this task is cancelled
            await asyncio.gather(asking, return_exceptions=True)
        asking.result()  # the leader's refusal, if it refused

    async def _watch(self, asking: asyncio.Task[None], leader: str) -> None:
        """Until the leader answers; in the log and /ready meanwhile. A new leader knows
        nothing of the request: its answer is not waited for, and the node asks again."""
        while True:
            await asyncio.wait({asking}, timeout=WATCH_SECONDS)
            if asking.done():
                return
            self._note(f"the leader ({leader}) is catching this node up to make it a voter")
            try:
                now = await self._client.find_leader()
            except CLIENT_ERRORS:
                continue  # no leader found: the one asked may be back
            if now != leader:
                raise ClusterError(f"{now} leads now, not {leader}, which was asked")

    async def _step_back(self) -> None:
        """Until no promotion of this node is under way and it is not a voter, for as long as
        the cluster answers (it does while a promotion lasts)."""
        answered = time.monotonic()
        while time.monotonic() - answered < STEP_BACK_PATIENCE_SECONDS:
            try:
                if await self._stepped_back():
                    return
                answered = time.monotonic()
            except CLIENT_ERRORS as error:
                self._note(_what_it_means(error))
            await asyncio.sleep(RETRY_SECONDS)
        logger.warning(
            "node %s stops without knowing whether a promotion of it is under way: %s",
            self.node_id,
            self.waiting_for,
        )

    async def _stepped_back(self) -> bool:
        """Ask for the node's own role (or spare, for a voter): refused while a configuration
        change is under way, else nothing changes, or the voter becomes a spare."""
        nodes = await self._client.cluster_info()
        me = next((n for n in nodes if n.node_id == self.node_id), None)
        if me is None:
            return True
        role = NodeRole.SPARE if me.role == NodeRole.VOTER else me.role
        try:
            await self._client.assign_role(self.node_id, role)
        except OperationalError as error:
            if error.code == CHANGE_UNDER_WAY:
                self._note("a configuration change is under way; the node stops once it ends")
                return False
            if error.code == RAFT_REFUSED and me.role != NodeRole.VOTER:
                return True  # it has that role already (raft's "server role is not valid")
            raise
        if me.role == NodeRole.VOTER:
            logger.info("node %s, made a voter as it stopped, is a spare again", self.node_id)
        return True

    def _log_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("node %s gave up joining: %s", self.node_id, error, exc_info=error)

    def _note(self, waiting_for: str) -> None:
        """Say what the node waits for: in /ready at once, in the log when it changes and
        every PROGRESS_LOG_SECONDS while it lasts."""
        now = time.monotonic()
        self.waiting_for = waiting_for
        last = self._logged
        if last is not None and last[0] == waiting_for and now - last[1] < PROGRESS_LOG_SECONDS:
            return
        self._logged = (waiting_for, now)
        logger.info(
            "node %s, joining for %.0f s: %s", self.node_id, now - self._started, waiting_for
        )


async def _assign_voter(leader: str, node_id: int, dial: DialFunc | None) -> None:
    """ASSIGN voter, on a connection that waits for the answer as long as a promotion lasts."""
    client = ClusterClient.from_addresses(
        [leader],
        timeout=PROMOTION_ANSWER_SECONDS,
        dial_timeout=PROBE_TIMEOUT_SECONDS,
        attempt_timeout=PROBE_TIMEOUT_SECONDS,
        dial_func=dial,
    )
    await client.assign_role(node_id, NodeRole.VOTER)


def _what_it_means(error: BaseException) -> str:
    if isinstance(error, OperationalError) and error.code == CHANGE_UNDER_WAY:
        return (
            "a configuration change is under way (most likely the leader catching this node up "
            "for a promotion asked before); asking again once it ends"
        )
    if GAVE_UP_CATCHING_UP in str(error):
        return (
            "the leader gave up catching this node up (libraft does when a catch-up round takes "
            "over 50 s); asking again, from where it got to"
        )
    return f"{error}; trying again"


async def _give_way_to_lower_voters(client: ClusterClient, node_id: int) -> None:
    """Nodes that join at once may each count fewer than three voters and all become voters.
    Once they have settled, a voter beyond the three lowest ids steps down to standby."""
    await asyncio.sleep(JOIN_SETTLE_SECONDS)
    nodes = await client.cluster_info()
    voters = sorted(n.node_id for n in nodes if n.role == NodeRole.VOTER)
    if node_id in voters[VOTERS_WANTED:]:
        await client.assign_role(node_id, NodeRole.STANDBY)
        logger.info("node %s stepped down to standby: %s voters joined at once", node_id, voters)


async def cluster_already_running(
    membership: Membership, dial: DialFunc | None = None
) -> str | None:
    """The leader of a cluster the other peers already form, if any."""
    others = [peer for peer in membership.peers if peer != membership.address]
    if not others:
        return None
    try:
        leader: str = await cluster_client(others, timeout=1.0, dial=dial).find_leader()
    except CLIENT_ERRORS:
        return None
    return leader


async def hand_over(membership: Membership, tracker: LeaderTracker) -> None:
    """Before this node stops: give its vote to a live standby or spare, and its leadership
    to another voter, so the cluster neither waits for an election nor loses a voter."""
    client = tracker.client
    view = await tracker.view()
    me = next((n for n in view.nodes if n.node_id == membership.node_id), None)
    if me is None:
        return
    live = [n for n in view.nodes if n.node_id != me.node_id and await _answers(n.address)]
    replacement = None
    if me.role == "voter":
        replacement = next((n for n in live if n.role != "voter"), None)
        if replacement is not None:
            await client.assign_role(replacement.node_id, NodeRole.VOTER)
            logger.info("node %s handed its vote to node %s", me.node_id, replacement.node_id)
    if view.leader_id == me.node_id:
        heir = next((n for n in live if n.role == "voter"), replacement)
        if heir is not None:
            await client.transfer_leadership(heir.node_id)
            logger.info("node %s handed leadership to node %s", me.node_id, heir.node_id)
    if replacement is not None:
        await client.assign_role(me.node_id, NodeRole.SPARE)


async def _answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 0.5)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True
