"""Authentication and access for DRF: bearer JWTs when AUTH_MODE=jwt, nobody checked when none."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import APIException, AuthenticationFailed, NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tasks_app import bootstrap
from tasks_app.adapters.tokens import InvalidToken, KeysUnavailable
from tasks_app.application.access import Caller
from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.values import UserId

ADMIN_GROUP = "admin"
HOW_TO_SEND = "Send the token as: Authorization: Bearer <token>."


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
        if not parts:
            return None  # no credentials: the permission check answers 401
        # RFC 7235 §2.1: the scheme is case-insensitive, so `bearer` and `BEARER` are Bearer too.
        if parts[0].lower() != b"bearer":
            # `Token`, `JWT`, `Basic`...: credentials were sent, just not in the scheme this API
            # reads; "not provided" would send the caller looking for the wrong mistake.
            raise AuthenticationFailed(_wrong_scheme(parts[0]))
        if len(parts) != 2:
            raise AuthenticationFailed(HOW_TO_SEND)
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


def _wrong_scheme(first: bytes) -> str:
    """Why the header's first word is not `Bearer`, without echoing any of the token."""
    leading = _SCHEME_NAME.match(first)
    name = leading.group().decode("ascii") if leading else ""
    if name.lower() == "bearer":  # `Bearer,<token>`, `Bearer=<token>`: the scheme, badly separated
        return HOW_TO_SEND
    if leading is None or leading.end() != len(first):
        return f"The Authorization header does not start with a scheme name. {HOW_TO_SEND}"
    return f"The Authorization scheme {name[:20]!r} is not accepted. {HOW_TO_SEND}"


# An auth-scheme is an RFC 9110 §5.6.2 token.
_SCHEME_NAME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class AuthModePermission(BasePermission):
    """With AUTH_MODE=jwt every request needs a valid token; with none, anyone may ask."""

    def has_permission(self, request: Request, view: Any) -> bool:
        """True with AUTH_MODE=none or a verified token; raises `NotAuthenticated` (401) saying how otherwise."""
        if settings.AUTH_MODE != "jwt" or isinstance(request.user, TokenUser):
            return True
        # DRF's own 401 here says only "credentials were not provided"; say how to provide them.
        raise NotAuthenticated(f"No token was sent. {HOW_TO_SEND}")


def tokens_are_local() -> bool:
    """Whether tokens come from `python manage.py issue_token` (development trusting the local key)
    rather than from a Cognito user pool (deployed stages, or JWT_ISSUER naming a pool)."""
    jwt = settings.JWT
    return settings.ENVIRONMENT == "development" and (jwt is None or jwt.jwks_url is None)


def how_to_authenticate(request: Request) -> str:
    """One sentence on how requests say who they are, in the mode served, for people exploring."""
    if settings.AUTH_MODE != "jwt":
        return "Off (AUTH_MODE=none): each request names its user, as user_id in the query or in the body."
    if isinstance(request.user, TokenUser):
        return f"Signed in as {request.user} with a bearer token."
    source = (
        "`python manage.py issue_token <user>` prints one."
        if tokens_are_local()
        else "Tokens are access tokens of the stage's Cognito user pool."
    )
    return f"On (AUTH_MODE=jwt): every request needs a bearer token. {HOW_TO_SEND} {source}"


def caller_of(request: Request) -> Caller | None:
    """The authenticated caller, or None when authentication is off."""
    user = request.user
    return user.caller if isinstance(user, TokenUser) else None
