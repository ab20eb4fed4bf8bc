"""Failed sign-ins, counted per email and per client address in the identity database, so a
limit holds whichever node a client reaches."""

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import TooManyAttempts

SCOPE_MAX_LENGTH = 300


@dataclass(frozen=True, slots=True)
class LoginLimit:
    """At most `attempts` failures per scope within any `window_ms`."""

    attempts: int = 10
    window_ms: int = 60_000

    def check(self, scope: str, recent_failures_ms: list[int], now_ms: int) -> None:
        """Raise TooManyAttempts if the failures since `now_ms - window_ms` reach the limit."""
        recent = sorted(at for at in recent_failures_ms if at > now_ms - self.window_ms)
        if len(recent) >= self.attempts:
            frees_at = recent[len(recent) - self.attempts] + self.window_ms
            wait = max(1, math.ceil((frees_at - now_ms) / 1000))
            raise TooManyAttempts(
                f"too many failed sign-ins for this {scope.partition(':')[0]}; "
                f"try again in {wait} s",
                wait,
            )


class AbstractLoginFailureRepository(abc.ABC):
    """Failed sign-ins, and attempts under way (counted as failures until they succeed)."""

    @abc.abstractmethod
    async def add(self, scope: str, at_ms: int) -> int:
        """Count a failure of the scope; its id, to forget it should the attempt succeed."""

    @abc.abstractmethod
    async def forget(self, ids: Sequence[int]) -> None:
        """Forget these failures (ids `add` returned); an id not stored is ignored."""

    @abc.abstractmethod
    async def since(self, scope: str, since_ms: int) -> list[int]:
        """When the scope's failures after `since_ms` happened, in ms since the epoch."""

    @abc.abstractmethod
    async def prune(self, before_ms: int) -> None:
        """Forget every failure older than `before_ms`: no window reaches back that far."""
