"""Pagination cursors: opaque, tamper-evident, and bound to the user they were issued for."""

import base64

import pytest

from tasks_app.adapters.cursor import CursorCodec
from tasks_app.domain.errors import InvalidCursor

codec = CursorCodec("secret")


def test_a_cursor_reads_back_for_its_owner():
    cursor = codec.encode(owner="alice", position="TASK#2026#task-1")
    assert codec.decode(cursor, owner="alice") == "TASK#2026#task-1"


def test_another_users_cursor_is_refused():
    cursor = codec.encode(owner="alice", position="p")
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, owner="bob")


def test_a_cursor_signed_with_another_secret_is_refused():
    cursor = CursorCodec("other").encode(owner="alice", position="p")
    with pytest.raises(InvalidCursor):
        codec.decode(cursor, owner="alice")


def test_a_cursor_with_a_forged_position_is_refused():
    _payload, signature = codec.encode(owner="alice", position="TASK#a").split(".")
    forged = base64.urlsafe_b64encode(b'"TASK#z"').rstrip(b"=").decode()
    with pytest.raises(InvalidCursor):
        codec.decode(f"{forged}.{signature}", owner="alice")


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b.c", "!!!.???", "é.é", "x" * 600, "eyJ9.AAAA"])
def test_garbled_cursors_are_refused(garbage):
    with pytest.raises(InvalidCursor):
        codec.decode(garbage, owner="alice")


def test_a_secret_given_as_a_function_is_asked_for_when_the_first_cursor_needs_it():
    asked: list[str] = []

    def secret() -> str:
        asked.append("secret")
        return "secret"

    lazy = CursorCodec(secret)
    assert asked == []  # a deployed stage reads its key from S3 only now (config.secrets)
    cursor = lazy.encode(owner="alice", position="p")
    assert codec.decode(cursor, owner="alice") == "p"  # the same key as a codec given the string
    lazy.decode(cursor, owner="alice")
    assert asked == ["secret"]
