"""The bookkeeping every kind of push subscription shares (feed, transcripts)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from ..errors import NotFound

if TYPE_CHECKING:
    import asyncio

    from .app import Connection


class _Subscription(Protocol):
    id: int
    conn: Connection
    task: asyncio.Task | None


S = TypeVar("S", bound=_Subscription)


class Subscriptions(Generic[S]):
    """Subscriptions by id, each owned by one connection and maybe running a task."""

    #: Named in the error for an unknown id ("no feed subscription 7 on this connection").
    what = "subscription"

    def __init__(self) -> None:
        self.subs: dict[int, S] = {}
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def unsubscribe(self, conn: Connection, sub_id: int) -> bool:
        sub = self.subs.get(sub_id)
        if sub is None or sub.conn is not conn:
            raise NotFound(f"no {self.what} {sub_id} on this connection")
        del self.subs[sub_id]
        if sub.task is not None:
            sub.task.cancel()
        return True

    def drop_connection(self, conn: Connection) -> None:
        for sub_id in [i for i, s in self.subs.items() if s.conn is conn]:
            sub = self.subs.pop(sub_id)
            if sub.task is not None:
                sub.task.cancel()

    def count(self) -> int:
        return len(self.subs)
