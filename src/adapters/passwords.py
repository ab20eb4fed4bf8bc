"""Passwords hashed with Argon2id (pwdlib), and judged with zxcvbn's lists of common ones."""

import asyncio
from collections.abc import Callable, Sequence

from pwdlib import PasswordHash
from pwdlib.exceptions import PwdlibError
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn import zxcvbn  # type: ignore[import-untyped]

from domain.people import Password
from service.identity import AbstractPasswords

MIN_STRENGTH = 3  # zxcvbn's score, 0-4: 3 is "safely unguessable" by an offline attack
ZXCVBN_MAX_LENGTH = 72  # zxcvbn 4.5 refuses longer input; the first 72 characters decide
DUMMY_PASSWORD = "not the password of anyone"


class Argon2Passwords(AbstractPasswords):
    """Argon2id with OWASP's parameters by default (3 passes over 64 MiB, 4 lanes).

    Hashing runs on worker threads (argon2-cffi releases the GIL), at most `concurrency` at
    once, so a burst of sign-ins queues instead of taking every core and all the memory.
    """

    def __init__(
        self,
        time_cost: int = 3,
        memory_kib: int = 65_536,
        parallelism: int = 4,
        concurrency: int = 2,
    ) -> None:
        hasher = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._hashing = PasswordHash((hasher,))
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy_hash: str | None = None

    async def hash(self, password: Password) -> str:
        return await self._run(self._hashing.hash, password.text)

    async def verify(self, password: Password, password_hash: str) -> tuple[bool, str | None]:
        try:
            return await self._run(self._hashing.verify_and_update, password.text, password_hash)
        except PwdlibError:  # a hash no configured hasher reads is nobody's password
            return False, None

    async def verify_nobody(self, password: Password) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = await self._run(self._hashing.hash, DUMMY_PASSWORD)
        await self._run(self._hashing.verify, password.text, self._dummy_hash)

    def weakness(self, password: Password, hints: Sequence[str]) -> str | None:
        inputs = [hint[:ZXCVBN_MAX_LENGTH] for hint in hints if hint]
        verdict = zxcvbn(password.text[:ZXCVBN_MAX_LENGTH], user_inputs=inputs)
        if verdict["score"] >= MIN_STRENGTH:
            return None
        warning = verdict["feedback"]["warning"] or "it is too easy to guess"
        return f"too easy to guess ({warning.rstrip('.')}); a few uncommon words make a good one"

    async def _run[T](self, work: Callable[..., T], *args: str) -> T:
        async with self._slots:
            return await asyncio.to_thread(work, *args)
