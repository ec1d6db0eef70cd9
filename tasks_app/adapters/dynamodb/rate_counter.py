"""Request counters shared by every API instance: one item per caller and time window."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException

from tasks_app.adapters.dynamodb.models import TableModel, response_code
from tasks_app.adapters.outages import reports_outages

# What DynamoDB answers when a key or the table gets more requests than it can take.
_THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})


class CounterBusy(Exception):
    """DynamoDB throttled the counter itself: the caller is likely the reason, so do not let them through."""


class RateCounterItem(TableModel):
    """Hits in one fixed window; DynamoDB deletes it a minute after the window ends (TTL)."""

    item_type = UnicodeAttribute(attr_name="Type", default="RateCounter")
    hits = NumberAttribute(attr_name="Hits", default=0)
    expires_at = TTLAttribute(attr_name="ExpiresAt")
    last_add = UnicodeAttribute(attr_name="LastAdd", null=True)  # the id of the latest ADD applied


@dataclass(frozen=True)
class Take:
    """What one `DynamoRateCounter.take` got: `granted` tokens within the limit (0 to the number
    asked), the window's `hits` after it, and `window_end` (epoch seconds)."""

    granted: int
    hits: int
    window_end: float


@reports_outages("DynamoDB")
class DynamoRateCounter:
    """Counts with one atomic `ADD` per hit, so concurrent instances never lose a count.

    An `ADD` is not idempotent, and botocore sends an `UpdateItem` again when its answer comes
    after the client's read timeout, though the first was applied: a take of 10 would then
    count 20, and its caller lose a lease of tokens. So each `ADD` carries a fresh id and is
    conditioned on the item's latest id being another: the repeat of an applied one fails its
    condition, and the count it made is read back (consistently) instead. Should another
    instance's `ADD` land between the two, the repeat counts again (the old, rarer case).
    A caller that gave up on a take (an outage, a stall) sends its next take with the same id,
    for the same reason: a stalled DynamoDB may apply the first after the caller stopped waiting.
    """

    def hit(self, key: str, *, window_seconds: int, now: float) -> tuple[int, float]:
        """Count a hit; returns the hits in the current window so far and when the window ends."""
        return self._add(key, 1, window_seconds=window_seconds, now=now)

    def take(
        self, key: str, *, tokens: int, limit: int, window_seconds: int, now: float, take_id: str | None = None
    ) -> Take:
        """Count `tokens` hits at once (one `UpdateItem`) and say how many of them are within `limit`.

        The `ADD` is atomic, so every take (and every `hit`) owns the slots from the count before
        it to the count after it, and no slot is anyone else's: the slots up to `limit` are
        granted, those past it are not. However many instances take at once, at most `limit`
        tokens are granted in a window, with one request each and no condition to retry. The
        count may pass `limit`; the window is full then, which is what it says. Raises
        `CounterBusy` when DynamoDB throttles the item, `DependencyUnavailable` on an outage.

        `take_id` names the take (a fresh one when None): a take sent again with the id and
        `tokens` of one that failed, and was applied after all, counts nothing more and gets what
        that one counted, unless another take of the item landed in between.
        """
        hits, window_end = self._add(key, tokens, window_seconds=window_seconds, now=now, add_id=take_id)
        granted = max(0, min(tokens, limit - (hits - tokens)))
        return Take(granted=granted, hits=hits, window_end=window_end)

    def _add(
        self, key: str, hits: int, *, window_seconds: int, now: float, add_id: str | None = None
    ) -> tuple[int, float]:
        window_start = int(now // window_seconds) * window_seconds
        window_end = window_start + window_seconds
        counter = RateCounterItem(pk=f"RATE#{key}", sk=str(window_start))
        add_id = add_id or uuid.uuid4().hex
        try:
            counter.update(
                actions=[
                    RateCounterItem.hits.add(hits),
                    RateCounterItem.expires_at.set(datetime.fromtimestamp(window_end + 60, UTC)),
                    RateCounterItem.item_type.set("RateCounter"),
                    RateCounterItem.last_add.set(add_id),
                ],
                condition=RateCounterItem.last_add.does_not_exist() | (RateCounterItem.last_add != add_id),
            )
        except PynamoDBException as error:
            code = response_code(error)
            if code == "ConditionalCheckFailedException":  # a repeat of this ADD, which was applied
                counted = RateCounterItem.get(counter.pk, counter.sk, consistent_read=True)
                return int(counted.hits), float(window_end)
            if code in _THROTTLING_CODES:
                raise CounterBusy(code) from error
            raise
        return int(counter.hits), float(window_end)
