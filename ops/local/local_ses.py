"""What the local AWS's SES accepted, read from moto's model dump (`GET /moto-api/data.json`).

SES has no API to read sent mail back; moto keeps each accepted message (v1 and v2 `SendEmail`)
as a `Message` model, listed in the dump in the order sent. moto keeps one body per message: the
HTML part when there is one. The dump holds every model of every service (the table's items
too), so it is an operator's tool for the local stack, not for a hot path. Messages live only in
the running local AWS's memory: a restart of `make run` empties the mailbox.
"""

from __future__ import annotations

import html
import json
import re
import urllib.request
from dataclasses import dataclass
from typing import Any

from ops.errors import OperationsError

_LINK = re.compile(r"""https?://[^\s"'<>]+""")
_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SentMail:
    """One message the local SES accepted."""

    message_id: str
    sender: str
    to: list[str]
    subject: str
    body: str

    @property
    def links(self) -> list[str]:
        """The body's URLs, once each, in order (HTML entities decoded, so `&amp;` is `&`)."""
        return list(dict.fromkeys(html.unescape(link) for link in _LINK.findall(self.body)))

    def as_json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "from": self.sender,
            "to": self.to,
            "subject": self.subject,
            "links": self.links,
        }


def sent_mail(endpoint_url: str) -> list[SentMail]:
    """Every message the local AWS at `endpoint_url` accepted, oldest first. Raises
    `OperationsError` when it cannot be read (not running, or not a moto server)."""
    request = urllib.request.Request(f"{endpoint_url.rstrip('/')}/moto-api/data.json")
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response:
            dump = json.loads(response.read())
    except (OSError, ValueError) as error:
        raise OperationsError(
            f"Could not read the local AWS's mail at {endpoint_url} ({error}). Is the local stack running (`make run`)?"
        ) from None
    return [
        SentMail(
            message_id=str(model.get("id", "")),
            sender=str(model.get("source", "")),
            to=_recipients(model.get("destinations")),
            subject=str(model.get("subject", "")),
            body=str(model.get("body", "")),
        )
        for model in dump.get("ses", {}).get("Message", [])
    ]


def _recipients(destinations: Any) -> list[str]:
    """The addresses of SES's `Destination` (`ToAddresses`, `CcAddresses`, `BccAddresses`)."""
    if not isinstance(destinations, dict):
        return []
    return [
        str(address)
        for kind in ("ToAddresses", "CcAddresses", "BccAddresses")
        for address in destinations.get(kind, [])
    ]
