"""Request bodies sent `Transfer-Encoding: chunked` (RFC 9112 §7.1), decoded for the local HTTP
server (`ops.local.http_server`), and the refusal of a body it cannot read."""

from __future__ import annotations

import re
from typing import BinaryIO

from ops.local.server_answers import MAX_LINE

# Trailer fields after the last chunk are read and dropped (RFC 9112 §7.1.2); this many at most.
MAX_TRAILER_LINES = 100
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class BodyRefused(Exception):
    """A request body that cannot be read: the status to answer with, and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def read_chunked(stream: BinaryIO, limit: int) -> bytes:
    """The body of a `Transfer-Encoding: chunked` request (RFC 9112 §7.1), read from `stream`.

    Chunk extensions and trailer fields are dropped, as RFC 9112 §7.1.1 and §7.1.2 allow.
    Raises `BodyRefused`: 413 as soon as the decoded body would exceed `limit` bytes (nothing
    more is read), 400 for a malformed or truncated body.
    """
    body = bytearray()
    while True:
        size_field = _line(stream, "chunk size").split(b";", 1)[0].strip(b" \t")
        if not _CHUNK_SIZE.fullmatch(size_field):
            raise BodyRefused(400, "The chunked body is malformed: a chunk size is not a hexadecimal number.")
        size = int(size_field, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise BodyRefused(413, f"The body is over the limit of {limit} bytes.")
        chunk = stream.read(size)
        if len(chunk) != size:
            raise BodyRefused(400, "The chunked body is malformed: it ends inside a chunk.")
        body += chunk
        if _line(stream, "chunk end") != b"":
            raise BodyRefused(400, "The chunked body is malformed: a chunk is longer than its size says.")
    for _ in range(MAX_TRAILER_LINES):
        if _line(stream, "trailer") == b"":
            return bytes(body)
    raise BodyRefused(400, f"The chunked body has more than {MAX_TRAILER_LINES} trailer fields.")


def _line(stream: BinaryIO, what: str) -> bytes:
    """One line of the chunked framing without its CRLF (a bare LF is accepted: RFC 9112 §2.2)."""
    raw = stream.readline(MAX_LINE + 1)
    if len(raw) > MAX_LINE:
        raise BodyRefused(400, f"The chunked body is malformed: a {what} line is over {MAX_LINE} bytes.")
    if not raw.endswith(b"\n"):
        raise BodyRefused(400, "The chunked body is malformed: it ends before its last chunk.")
    return raw[:-1].removesuffix(b"\r")
