"""`issue_token`: a bearer token for local use, signed by the local development key."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.environment import LOCAL_AUDIENCE, LOCAL_ISSUER
from config.local_stack import running_stack
from ops.local import tokens as local_tokens
from tasks_app.domain.errors import InvalidValue
from tasks_app.domain.values import UserId


class Command(BaseCommand):
    requires_system_checks = []  # as AwsCommand: the checks are of what serves HTTP, and slow every start
    help = (
        "Print a bearer token for USER, signed by the local key that development trusts with "
        "AUTH_MODE=jwt (as a Cognito access token would be). Use it as: "
        "curl -H 'Authorization: Bearer <token>' ... With AUTH_MODE=none (the default in development) "
        "the server ignores tokens; the command says so on stderr and still prints the token."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("user", help="The user the token is for (its `sub`).")
        parser.add_argument("--admin", action="store_true", help="Put the user in the admin group.")
        parser.add_argument("--ttl", type=int, default=3600, help="Seconds until it expires (default 3600).")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ENVIRONMENT != "development":
            raise CommandError("Local tokens are for development; deployed stages trust their Cognito user pool only.")
        jwt = settings.JWT
        if jwt is not None and jwt.jwks_url is not None:
            raise CommandError("JWT_ISSUER names a user pool: get tokens from it, not from the local key.")
        if not 1 <= options["ttl"] <= 7 * 86400:
            raise CommandError("--ttl must be between 1 second and 7 days.")
        try:
            user = UserId.parse(options["user"])
        except InvalidValue as error:
            raise CommandError(str(error)) from None
        # The running stack's mode when there is one: `AUTH_MODE=jwt make run` in one shell and
        # this in another, without AUTH_MODE, is the usual way, and its token is used.
        stack = running_stack(Path(settings.LOCAL_STATE_DIR))
        server_mode, where = (stack.auth_mode, "the running stack") if stack else (settings.AUTH_MODE, "here")
        if server_mode != "jwt":
            # stderr, so `TOKEN=$(python manage.py issue_token alice)` still gets the token alone.
            self.stderr.write(
                f"Note: AUTH_MODE is none {where}, and a server started with AUTH_MODE=none ignores tokens: "
                'requests name their user instead (?user_id=... or "user_id" in the body). To use '
                "this token, start the server with AUTH_MODE=jwt (e.g. `AUTH_MODE=jwt make run`).",
                style_func=self.style.WARNING,  # a caution, not the error colour stderr gets by default
            )
        self.stdout.write(
            local_tokens.issue(
                settings.LOCAL_STATE_DIR,
                user=str(user),
                issuer=jwt.issuer if jwt else LOCAL_ISSUER,
                audience=jwt.audience if jwt else LOCAL_AUDIENCE,
                admin=options["admin"],
                ttl_seconds=options["ttl"],
            )
        )
