"""Idempotency records in the single table (SPEC §2): one item per caller's key, expired by TTL.

Keyed `IDEMPOTENCY#<sha256 of scope and key>` (both `PK` and `SK`): the key is up to 255
characters and the scope holds a user id of up to 128, so a digest keeps the item's key short
and fixed-size whatever they hold. `Scope` and `IdempotencyKey` are stored too, and checked on
read. `ExpiresAt` is the table's TTL attribute; DynamoDB deletes expired items within days, not
at once, so readers and writers treat a record past `ExpiresAt` as gone.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition

from tasks_app.adapters.dynamodb.models import EXPIRY_ATTRIBUTE, TableModel
from tasks_app.application.idempotency import IdempotencyRecord, RecordedResponse


class IdempotencyItem(TableModel):
    """A stored `IdempotencyRecord`: the request's fingerprint and the response to replay."""

    item_type = UnicodeAttribute(attr_name="Type", default="IdempotencyRecord")
    scope = UnicodeAttribute(attr_name="Scope")
    idempotency_key = UnicodeAttribute(attr_name="IdempotencyKey")
    fingerprint = UnicodeAttribute(attr_name="Fingerprint")
    status = NumberAttribute(attr_name="ResponseStatus")
    body = UnicodeAttribute(attr_name="ResponseBody")
    headers = UnicodeAttribute(attr_name="ResponseHeaders")  # JSON text: kept exactly as given
    expires_at = TTLAttribute(attr_name=EXPIRY_ATTRIBUTE)

    @staticmethod
    def key(scope: str, key: str) -> str:
        """`PK` and `SK` of the record of `scope`'s `key`."""
        digest = hashlib.sha256(json.dumps([scope, key]).encode()).hexdigest()
        return f"IDEMPOTENCY#{digest}"

    @classmethod
    def from_record(cls, record: IdempotencyRecord) -> IdempotencyItem:
        key = cls.key(record.scope, record.key)
        return cls(
            pk=key,
            sk=key,
            scope=record.scope,
            idempotency_key=record.key,
            fingerprint=record.fingerprint,
            status=record.response.status,
            body=record.response.body,
            headers=json.dumps(record.response.headers, ensure_ascii=False),
            expires_at=record.expires_at,
        )

    def to_record(self) -> IdempotencyRecord:
        return IdempotencyRecord(
            scope=self.scope,
            key=self.idempotency_key,
            fingerprint=self.fingerprint,
            response=RecordedResponse(status=int(self.status), body=self.body, headers=json.loads(self.headers)),
            expires_at=self.expires_at,
        )

    def is_record_of(self, scope: str, key: str, *, now: datetime) -> bool:
        """Whether this item is `scope`'s `key` and still in force at `now`."""
        return self.scope == scope and self.idempotency_key == key and self.expires_at > now

    @staticmethod
    def claimable(now: datetime) -> Condition:
        """The condition of writing a record: no record of the key, or only an expired one that
        TTL has not deleted yet (a key may be used again after 24 hours, SPEC §2)."""
        condition: Condition = IdempotencyItem.pk.does_not_exist() | (IdempotencyItem.expires_at <= now)
        return condition
