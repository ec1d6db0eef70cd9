"""Confirmation tokens of email addresses (issue 14, item 5): Django's `TimestampSigner` under
the project's SECRET_KEY, with a salt of their own, so no other signed value of the project
(cursors, sessions) can pass for one."""

from __future__ import annotations

from datetime import timedelta

from django.core import signing

from tasks_app.domain.errors import InvalidValue

SALT = "notifications.email-confirmation"
MAX_AGE = timedelta(days=3)  # long enough for a weekend; short enough that an old mailbox leak is moot

EXPIRED = "This confirmation link has expired. Save your address again (PUT /notifications/settings) for a new link."
INVALID = "This is not a valid confirmation link: open the link exactly as it is in the email."


class SignedConfirmationTokens:
    """`ConfirmationTokens` by Django's signing: the token carries the user and the address,
    signed and timestamped; nothing is stored."""

    def __init__(self, max_age: timedelta = MAX_AGE) -> None:
        self._max_age = max_age

    def issue(self, user_id: str, email: str) -> str:
        """A URL-safe token for `user_id` and `email`."""
        return signing.TimestampSigner(salt=SALT).sign_object({"u": user_id, "e": email}, compress=True)

    def read(self, token: str) -> tuple[str, str]:
        """The user and address of `token`; `InvalidValue("token", ...)` if it is expired
        (`EXPIRED`), or forged or malformed (`INVALID`)."""
        try:
            value = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=self._max_age)
        except signing.SignatureExpired:
            raise InvalidValue("token", EXPIRED) from None
        except (signing.BadSignature, ValueError, UnicodeError):
            raise InvalidValue("token", INVALID) from None
        if not (isinstance(value, dict) and isinstance(value.get("u"), str) and isinstance(value.get("e"), str)):
            raise InvalidValue("token", INVALID)
        return value["u"], value["e"]
