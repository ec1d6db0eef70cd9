"""Authentication and access for DRF: bearer JWTs when AUTH_MODE=jwt, nobody checked when none."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tasks_app import bootstrap
from tasks_app.adapters.tokens import InvalidToken, KeysUnavailable
from tasks_app.application.access import Caller
from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.values import UserId

ADMIN_GROUP = "admin"


class AuthenticationUnavailable(APIException):
    """The identity provider's keys cannot be fetched: nobody's token can be checked for now."""

    status_code = 503
    default_detail = "Tokens cannot be checked right now. Try again shortly."
    default_code = "service_unavailable"
    wait = 5  # DRF sends it as Retry-After


class TokenUser:
    """`request.user` for a verified token: the caller, with no database behind it."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, caller: Caller) -> None:
        self.caller = caller

    def __str__(self) -> str:
        return str(self.caller.user_id)


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <JWT>`; a token that is present and invalid is a 401 at once."""

    def authenticate(self, request: Request) -> tuple[TokenUser, str] | None:
        if settings.AUTH_MODE != "jwt":
            return None
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None  # no credentials: the permission check answers 401
        if len(parts) != 2:
            raise AuthenticationFailed("Send the token as: Authorization: Bearer <token>.")
        try:
            token = parts[1].decode("ascii")
            verified = bootstrap.token_verifier().verify(token)
            user_id = UserId(verified.subject)
        except KeysUnavailable:
            raise AuthenticationUnavailable from None
        except (UnicodeDecodeError, InvalidToken, InvalidValue) as error:
            raise AuthenticationFailed(
                str(error) if isinstance(error, InvalidToken) else "The token is not valid."
            ) from None
        return TokenUser(Caller(user_id=user_id, is_admin=ADMIN_GROUP in verified.groups)), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tasks"'


class AuthModePermission(BasePermission):
    """With AUTH_MODE=jwt every request needs a valid token; with none, anyone may ask."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return settings.AUTH_MODE != "jwt" or isinstance(request.user, TokenUser)


def caller_of(request: Request) -> Caller | None:
    """The authenticated caller, or None when authentication is off."""
    user = request.user
    return user.caller if isinstance(user, TokenUser) else None
