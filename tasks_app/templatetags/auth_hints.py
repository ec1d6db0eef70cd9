"""`{% load auth_hints %}`: what the browsable API tells a visitor who has no token yet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.conf import settings
from rest_framework.exceptions import APIException

from tasks_app.api.auth import TokenUser, tokens_are_local

register = template.Library()


@dataclass(frozen=True)
class AuthHint:
    """How to authenticate here: with a token from the local key (`issue_token`), or from the user pool."""

    local_tokens: bool


@register.simple_tag
def auth_hint(request: Any) -> AuthHint | None:
    """An `AuthHint` when AUTH_MODE=jwt and `request` carries no valid token; None otherwise."""
    if settings.AUTH_MODE != "jwt":
        return None
    try:
        authenticated = isinstance(getattr(request, "user", None), TokenUser)
    except APIException:
        # A page drawn for a request that failed before its view authenticated it (DRF then
        # authenticates on first access to `user`): a bad token is no token for this hint.
        authenticated = False
    if authenticated:
        return None
    return AuthHint(local_tokens=tokens_are_local())
