"""`mailbox`: the mail the local AWS's SES accepted (issue 14, item 5): to, subject, the links."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import CommandError

from ops.local.local_ses import sent_mail
from ops.management.base import OpsCommand
from tasks_app.management.base import counted

_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Command(OpsCommand):
    help = (
        "List the email the local AWS's SES accepted, oldest first (newest last): recipients, subject and the "
        "links in the body, such as a confirmation link to open. Local only: SES in AWS has no mailbox to read."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--to", help="Only mail to this address (in any case).")
        parser.add_argument("--json", action="store_true", help="One JSON object per message.")

    def handle(self, *args: Any, **options: Any) -> None:
        endpoint = settings.AWS_ENDPOINT_URL
        if not endpoint or urlsplit(endpoint).hostname not in _LOCAL_HOSTS:
            raise CommandError(
                f"mailbox reads the local AWS's SES, but these settings point at {endpoint or 'AWS itself'}. "
                "Mail SES sent for real is in its recipients' inboxes: there is nothing to read back. "
                "Start the local stack (`make run`) and run this without AWS_ENDPOINT_URL."
            )
        # Addresses as people type them: domains are case-insensitive (RFC 5321 §2.4), and no
        # mail provider of note tells local parts apart by case either.
        wanted = options["to"].strip().casefold() if options["to"] is not None else None
        messages = [
            mail
            for mail in sent_mail(endpoint)
            if wanted is None or wanted in {address.casefold() for address in mail.to}
        ]
        for mail in messages:
            if options["json"]:
                self.stdout.write(json.dumps(mail.as_json(), ensure_ascii=False))
                continue
            self.stdout.write(f"To: {', '.join(mail.to)}  Subject: {mail.subject}")
            for link in mail.links:
                self.stdout.write(f"  {link}")
        if not options["json"]:
            self.stdout.write(f"{counted(len(messages), 'message')}.")
