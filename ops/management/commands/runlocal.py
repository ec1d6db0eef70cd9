"""`runlocal`: the whole system on this machine, with no AWS account (what `make run` runs)."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.environment import ConfigurationError, local_api_port, local_aws_port
from ops.errors import OperationsError
from ops.local import tokens as local_tokens
from ops.local.supervisor import LocalStack, LocalStackOptions
from ops.provisioning.resources import configured_resources


class Command(BaseCommand):
    help = (
        "Start the embedded local AWS (moto) on 127.0.0.1, create the table, topic and queues, restore "
        "the saved table and queues, and serve the API, restarting a crashed worker, relay or API. "
        "Ctrl-C saves and stops everything; table writes and queued messages are journalled as they happen."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", type=int, help="API port (default: $LOCAL_API_PORT or 8000).")
        parser.add_argument("--aws-port", type=int, help="Local AWS port (default: $LOCAL_AWS_PORT or 4566).")
        parser.add_argument(
            "--state-dir",
            type=Path,
            help="Where the saved table and queues, the logs and the stack's endpoints go "
            "(default: $LOCAL_STATE_DIR or .local). One stack per state directory.",
        )
        parser.add_argument(
            "--autosave",
            type=float,
            default=30.0,
            help="Seconds between snapshots of the queues and the table; 0 takes them only on stop "
            "(every change is journalled at once either way).",
        )
        parser.add_argument("--no-reload", action="store_true", help="Do not restart the API when code changes.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ENVIRONMENT != "development":
            raise CommandError(f"runlocal is for development; ENVIRONMENT is {settings.ENVIRONMENT}.")
        try:
            aws_port = options["aws_port"] or local_aws_port(os.environ)
            api_port = options["port"] or local_api_port(os.environ)
        except ConfigurationError as error:
            raise CommandError(str(error)) from None
        state_dir = options["state_dir"] or settings.LOCAL_STATE_DIR
        if settings.JWT is not None and settings.JWT.jwks_url is None:
            # The API trusts the local key's public JWKS file: make sure it is there before it starts.
            local_tokens.signing_key(state_dir.resolve())
        stack_options = LocalStackOptions(
            api_port=api_port,
            aws_port=aws_port,
            state_dir=state_dir.resolve(),
            autosave_seconds=options["autosave"],
            reload=not options["no_reload"],
            region=settings.AWS_REGION,
            resources=configured_resources(),
            manage_py=Path(settings.BASE_DIR) / "manage.py",
        )
        try:
            LocalStack(stack_options, say=self._say).run()
        except OperationsError as error:
            raise CommandError(str(error)) from None

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
