"""Opaque, signed pagination cursors, each bound to the user whose listing issued it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from tasks_app.domain.errors import InvalidCursor

_MAX_LENGTH = 512
_CONTEXT = b"tasks-list-cursor-v1"


class CursorCodec:
    """Turns a listing position into a string clients cannot forge, read back only for its owner.

    The owner is part of the signed message rather than of the payload, so a cursor from
    another user's listing fails the signature check like any forged one.
    """

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(_CONTEXT + secret.encode()).digest()

    def encode(self, *, owner: str, position: str) -> str:
        payload = json.dumps(position).encode()
        return f"{_b64(payload)}.{_b64(self._sign(owner, payload))}"

    def decode(self, cursor: str, *, owner: str) -> str:
        """The position inside `cursor`; raises `InvalidCursor` for anything this codec did not issue."""
        if len(cursor) > _MAX_LENGTH or cursor.count(".") != 1:
            raise InvalidCursor()
        encoded_payload, encoded_signature = cursor.split(".")
        try:
            payload = _unb64(encoded_payload)
            signature = _unb64(encoded_signature)
        except (binascii.Error, ValueError):
            raise InvalidCursor() from None
        if not hmac.compare_digest(signature, self._sign(owner, payload)):
            raise InvalidCursor()
        position = json.loads(payload)
        if not isinstance(position, str):
            raise InvalidCursor()
        return position

    def _sign(self, owner: str, payload: bytes) -> bytes:
        message = owner.encode() + b"\x00" + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
