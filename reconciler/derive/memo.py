"""Results of pure functions of cluster objects, kept from one pass to the next.

A pass is level-triggered: it reads every object and computes everything again. At
10,000 routes that was seconds of CPU a pass, nearly all of it deriving and validating
again objects that had not changed. A `Memo` keeps, per key, the inputs a result was
computed from and the result, and the next pass reuses the result only when every input
is the very same object (`is`). The informers replace an object whenever it changes,
and nothing changes the objects of a snapshot in place (client-go's rule for its cache
objects, kept here too), so the same object has the same content and a reused result is
the one the computation would give. A copy (a test's cluster that copies its objects, a
dry run's route as if written) is never the same object: it is computed again, which is
slower and never wrong. A memo of inputs that are new values every pass (facts gathered
by the pass) compares them by value instead (`by_value`).

What a pass does not use is dropped when the next one begins (`next_pass`), so a memo
holds one entry per live key plus, during a pass, those of the pass before.

Memos belong to the loop that runs the passes, never to the module: each layer that
reuses results groups its memos in a `Memos` value its functions take, and the
controller's pass memory groups those. Two loops in one process (tests, benchmarks)
each keep their own.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")
Entry = tuple[tuple[object, ...], V]


class Memo(Generic[V]):
    """One pure function's results by key; see the module docstring for when they hold."""

    def __init__(self, *, by_value: bool = False) -> None:
        self._by_value = by_value
        self._kept: dict[Hashable, Entry[V]] = {}  # from the pass before, not used yet
        self._used: dict[Hashable, Entry[V]] = {}  # used by this pass

    def get(self, key: Hashable, inputs: tuple[object, ...], compute: Callable[[], V]) -> V:
        """The result for `inputs`: the one kept if it was computed from these very
        objects, else `compute()`."""
        entry = self._used.get(key) or self._kept.pop(key, None)
        if entry is None or not self._same(entry[0], inputs):
            entry = (inputs, compute())
        self._used[key] = entry  # the entry kept, not a new one: what a pass allocates
        return entry[1]  # and keeps alive is what the garbage collector walks, often

    def _same(self, kept: tuple[object, ...], inputs: tuple[object, ...]) -> bool:
        if self._by_value:
            return kept == inputs
        return len(kept) == len(inputs) and all(map(operator.is_, kept, inputs))

    def next_pass(self) -> None:
        """A pass begins: what the one before did not use is dropped."""
        self._kept, self._used = self._used, {}

    def clear(self) -> None:
        self._kept, self._used = {}, {}


class Memos:
    """Memos kept and rotated together: a dataclass whose fields are memos (or groups
    of them), one per layer that reuses results, and the pass memory above them."""

    def next_pass(self) -> None:
        """A pass begins: what the one before did not use is dropped, in every memo."""
        for part in self._parts():
            part.next_pass()

    def clear(self) -> None:
        """Drop everything kept: the next pass computes everything."""
        for part in self._parts():
            part.clear()

    def _parts(self) -> list[Memo[Any] | Memos]:
        return [v for v in vars(self).values() if isinstance(v, Memo | Memos)]
