"""The one seeded source of randomness.

Everything random in a run (Faker data, IDs, nonces, AES IVs, fault dice, connection choice) is drawn
from one ``SimRandom``. The same seed gives the same stream, hence the same events and transcripts.
When no seed is given a fresh one is drawn from the OS and kept in ``seed`` so a run can be replayed.
"""

from __future__ import annotations

import os
import random
import string
from collections.abc import Sequence
from typing import Any, TypeVar

from simulator import constants as C

T = TypeVar("T")

_HEX = "0123456789abcdef"
_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits


class SimRandom:
    def __init__(self, seed: int | None = None) -> None:
        if seed is None:
            seed = int.from_bytes(os.urandom(6), "big")
        self.seed: int = seed
        self.random = random.Random(seed)
        self._fakers: dict[str, Any] = {}

    # -- primitives -------------------------------------------------------------------------------
    def hex(self, n: int) -> str:
        return f"{self.random.getrandbits(4 * n):0{n}x}"

    def digits(self, n: int, *, first_nonzero: bool = True) -> str:
        lo = 10 ** (n - 1) if first_nonzero else 0
        return str(self.random.randrange(lo, 10**n)).zfill(n)

    def alnum(self, n: int, *, lower: bool = False) -> str:
        alphabet = _LOWER_ALNUM if lower else _ALNUM
        return "".join(self.random.choice(alphabet) for _ in range(n))

    def token_bytes(self, n: int) -> bytes:
        return self.random.getrandbits(8 * n).to_bytes(n, "big")

    def uuid(self) -> str:
        """``str(uuid.UUID(int=getrandbits(128), version=4))``, formatted directly (twice as fast; one per
        pushed message)."""
        n = self.random.getrandbits(128)
        n = (n & ~(0xC000 << 48) | (0x8000 << 48)) & ~(0xF000 << 64) | (4 << 76)  # RFC 4122 variant, version 4
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self.random.randrange(len(seq))]

    def randint(self, a: int, b: int) -> int:
        return self.random.randint(a, b)

    def uniform(self, a: float, b: float) -> float:
        return self.random.uniform(a, b)

    def chance(self, p: float) -> bool:
        return self.random.random() < p

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        return self.random.sample(list(seq), k)

    def fork(self, label: str) -> SimRandom:
        """An independent child stream, deterministic in (seed, label); used so that adding draws in one
        component does not shift another component's stream."""
        child = SimRandom(hash_seed(self.seed, label))
        return child

    def faker(self, locale: str = C.DEFAULT_LOCALE) -> Any:
        """A Faker instance for ``locale`` seeded from this stream (created once per locale)."""
        fk = self._fakers.get(locale)
        if fk is None:
            from faker import Faker

            try:
                fk = Faker(locale)
            except AttributeError as exc:  # Faker raises AttributeError for unknown locales
                from simulator.errors import ConfigError

                raise ConfigError(f"unknown locale {locale!r}") from exc
            fk.seed_instance(hash_seed(self.seed, "faker:" + locale))
            self._fakers[locale] = fk
        return fk


def hash_seed(seed: int, label: str) -> int:
    """A stable 64-bit seed from a parent seed and a label (not Python's randomised ``hash``)."""
    import hashlib

    digest = hashlib.sha256(f"{seed}:{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
