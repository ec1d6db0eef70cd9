"""Request counters shared by every API instance: one item per caller and time window."""

from __future__ import annotations

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


@reports_outages("DynamoDB")
class DynamoRateCounter:
    """Counts with one atomic `ADD` per hit, so concurrent instances never lose a count."""

    def hit(self, key: str, *, window_seconds: int, now: float) -> tuple[int, float]:
        """Count a hit; returns the hits in the current window so far and when the window ends."""
        window_start = int(now // window_seconds) * window_seconds
        window_end = window_start + window_seconds
        counter = RateCounterItem(pk=f"RATE#{key}", sk=str(window_start))
        try:
            counter.update(
                actions=[
                    RateCounterItem.hits.add(1),
                    RateCounterItem.expires_at.set(datetime.fromtimestamp(window_end + 60, UTC)),
                    RateCounterItem.item_type.set("RateCounter"),
                ]
            )
        except PynamoDBException as error:
            if response_code(error) in _THROTTLING_CODES:
                raise CounterBusy(response_code(error)) from error
            raise
        return int(counter.hits), float(window_end)
