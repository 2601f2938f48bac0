"""Rate-limit budgets shared by every request of the process, across one or several tokens.

GitHub gives each token its own budget per resource (``core``, ``search``, ...). A :class:`TokenPool` keeps
what the last response said for each, hands out the token with the most left, skips a spent token until its
reset, and says how long to wait when every token is spent. Pools are shared per API root and token set
(:meth:`TokenPool.shared`), so threads, fan-out and several clients in one process draw on one budget.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from gh_assets.github.responses import RateLimit


@dataclass
class _Budget:
    remaining: int | None = None  # None: not seen yet, assumed available
    reset: float | None = None

    def available(self, now: float) -> bool:
        if self.remaining is None or self.remaining > 0:
            return True
        return self.reset is not None and self.reset <= now


class TokenPool:
    """The tokens of one API root and their budgets per resource. Thread-safe."""

    _registry: dict[tuple[str, tuple[str | None, ...]], TokenPool] = {}
    _registry_lock = threading.Lock()

    def __init__(self, tokens: Sequence[str | None]) -> None:
        self.tokens: tuple[str | None, ...] = tuple(tokens) or (None,)
        self._lock = threading.Lock()
        self._budgets: dict[tuple[int, str], _Budget] = {}

    @classmethod
    def shared(cls, base_url: str, tokens: Sequence[str | None]) -> TokenPool:
        key = (base_url, tuple(tokens) or (None,))
        with cls._registry_lock:
            pool = cls._registry.get(key)
            if pool is None:
                pool = cls._registry[key] = cls(tokens)
            return pool

    def _budget(self, index: int, resource: str) -> _Budget:
        return self._budgets.setdefault((index, resource), _Budget())

    def acquire(self, resource: str, now: float) -> tuple[int, float]:
        """``(token index, 0)`` for the token with the most budget left, or ``(index, wait)`` when all are spent."""
        with self._lock:
            best, best_left = None, -1
            for index in range(len(self.tokens)):
                budget = self._budget(index, resource)
                if not budget.available(now):
                    continue
                if budget.reset is not None and budget.reset <= now:
                    budget.remaining = None  # the window has rolled over
                left = budget.remaining if budget.remaining is not None else 1 << 30
                if left > best_left:
                    best, best_left = index, left
            if best is not None:
                budget = self._budget(best, resource)
                if budget.remaining is not None:
                    budget.remaining -= 1  # optimistic: concurrent callers spread over tokens
                return best, 0.0
            soonest = min(range(len(self.tokens)), key=lambda i: self._budget(i, resource).reset or now)
            reset = self._budget(soonest, resource).reset or now
            return soonest, max(reset - now, 0.0) + 1.0  # one second past the reset: clocks drift

    def update(self, index: int, rate: RateLimit, default_resource: str) -> None:
        """Record what a response said about its token's budget."""
        if rate.remaining is None:
            return
        with self._lock:
            budget = self._budget(index, rate.resource or default_resource)
            budget.remaining, budget.reset = rate.remaining, rate.reset

    def mark_spent(self, index: int, resource: str, reset: float | None) -> None:
        with self._lock:
            budget = self._budget(index, resource)
            budget.remaining, budget.reset = 0, reset
