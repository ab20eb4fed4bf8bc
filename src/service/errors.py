"""What a store tells a use case when it could not do what was asked: refused before writing
(`StoreUnavailable`, `StoreFull`), or not known to have written (`OutcomeUnknown`)."""


class StoreUnavailable(Exception):
    """The store refused the transaction before writing anything (busy, no leader): nothing
    changed, and the same request may be sent again later."""


class StoreFull(StoreUnavailable):
    """The store could not write for want of disk space: nothing changed, and retrying helps
    only once an operator has freed space."""


class OutcomeUnknown(Exception):
    """The commit was sent but its result was lost (e.g. leadership changed during it): the
    changes may or may not be stored."""
