"""Opaque, signed pagination cursors, each bound to the listing that issued it (SPEC §2).

A listing is a user's live tasks with some filters in some order, or a user's trash; a cursor
from one is refused by every other (`InvalidCursor`), so a client cannot carry a position into
a listing where it means something else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from functools import cached_property

from tasks_app.application.ports import TaskFilters, TaskSort
from tasks_app.domain.errors import InvalidCursor

MAX_LENGTH = 512  # a position is an index sort key of about 80 characters: cursors stay near 150
_CONTEXT = b"tasks-list-cursor-v1"
TRASH_LISTING = "trash"


def live_listing(filters: TaskFilters, sort: TaskSort) -> str:
    """The name a cursor of the live listing with these filters and this order is bound to."""
    return f"tasks|{sort.value}|{filters.fingerprint()}"


class CursorCodec:
    """Turns a listing position into a string clients cannot forge, read back only for the
    listing it was issued for.

    The owner and the listing (`live_listing(...)` or `TRASH_LISTING`) are part of the signed
    message rather than of the payload, so a cursor from another user's or another listing
    fails the signature check like any forged one.
    """

    def __init__(self, secret: str | Callable[[], str]) -> None:
        """`secret` is the signing secret, or a function returning it, called when the first
        cursor is signed or read (a deployed stage reads its key on first use: config.secrets)."""
        self._secret = secret

    @cached_property
    def _key(self) -> bytes:
        secret = self._secret if isinstance(self._secret, str) else self._secret()
        return hashlib.sha256(_CONTEXT + secret.encode()).digest()

    def encode(self, *, owner: str, position: str, listing: str = "") -> str:
        """The cursor of `position` in `owner`'s `listing`."""
        payload = json.dumps(position).encode()
        return f"{_b64(payload)}.{_b64(self._sign(owner, listing, payload))}"

    def decode(self, cursor: str, *, owner: str, listing: str = "") -> str:
        """The position inside `cursor`; raises `InvalidCursor` for anything this codec did not
        issue for `owner`'s `listing`."""
        if len(cursor) > MAX_LENGTH or cursor.count(".") != 1:
            raise InvalidCursor()
        encoded_payload, encoded_signature = cursor.split(".")
        try:
            payload = _unb64(encoded_payload)
            signature = _unb64(encoded_signature)
        except (binascii.Error, ValueError):
            raise InvalidCursor() from None
        if not hmac.compare_digest(signature, self._sign(owner, listing, payload)):
            raise InvalidCursor()
        position = json.loads(payload)
        if not isinstance(position, str):
            raise InvalidCursor()
        return position

    def _sign(self, owner: str, listing: str, payload: bytes) -> bytes:
        # NUL cannot occur in a user id (SPEC §1) nor in a listing's name (JSON escapes it).
        message = b"\x00".join((owner.encode(), listing.encode(), payload))
        return hmac.new(self._key, message, hashlib.sha256).digest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
