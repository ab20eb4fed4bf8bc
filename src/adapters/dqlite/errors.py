"""What a driver error means for a use case: refused cleanly, outcome unknown, or neither."""

from sqlalchemy.exc import DBAPIError, IntegrityError

from service.errors import OutcomeUnknown, StoreFull, StoreUnavailable

SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_NOMEM = 7
SQLITE_IOERR = 10
SQLITE_FULL = 13
SQLITE_CONSTRAINT = 19
# What a leader answers when it cannot append to its raft log, e.g. for want of disk space.
# Found on libdqlite 1.11 with the leader's disk full, on one node and on three: the entry was
# refused everywhere (nothing of it stored on any node), and the leader kept its leadership.
SQLITE_IOERR_WRITE = SQLITE_IOERR | (3 << 8)


def classify(error: Exception, *, during_commit: bool) -> Exception | None:
    """The service-layer exception for a driver error, or None when the service cannot act.

    At COMMIT, anything but a refusal that provably wrote nothing (busy, a full disk, a
    constraint) leaves the outcome unknown, as canonical/jepsen.dqlite classifies it. Before
    COMMIT nothing was replicated, so lost connections and leadership or I/O errors are clean
    failures.
    """
    driver_error = error.orig if isinstance(error, DBAPIError) else error
    code = getattr(driver_error, "code", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreUnavailable(str(driver_error))
    if primary == SQLITE_FULL or code == SQLITE_IOERR_WRITE:
        return StoreFull(str(driver_error))
    if during_commit:
        if isinstance(error, IntegrityError) or primary == SQLITE_CONSTRAINT:
            return None
        return OutcomeUnknown(str(driver_error))
    # The dialect flags lost connections, lost leadership and "no leader" as disconnects;
    # NOMEM and IOERR (which includes "not leader") come back while leadership moves.
    lost = isinstance(error, DBAPIError) and error.connection_invalidated
    if lost or primary in (SQLITE_NOMEM, SQLITE_IOERR):
        return StoreUnavailable(str(driver_error))
    return None
