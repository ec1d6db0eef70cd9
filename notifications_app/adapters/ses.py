"""Email through Amazon SES, API v2 (`SendEmail` with simple content: a subject, a text part and
an HTML part; SES builds the MIME message).

v2 rather than v1: it is the API AWS develops (v1 gets no new features), its `SendEmail` takes
the configuration set the same way, and moto's server implements both v2 `SendEmail` and the
v2 identity and configuration set calls `provision` uses (`CreateEmailIdentity`,
`CreateConfigurationSet`), so one API serves the adapter, provisioning and the local loop.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parseaddr
from typing import Any

from botocore.exceptions import ClientError

from notifications_app.application.ports import MailMessage, RecipientRefused
from tasks_app.adapters.outages import RETRY_AFTER_UNREACHABLE, reports_outages
from tasks_app.application.ports import DependencyUnavailable

# SES refusals that no retry by the caller can fix, but an operator can: the sender's identity
# not (or no longer) verified, sending paused for the account or the configuration set. They are
# outages to the user (503, or the event's retry and then the DLQ), never a 500, and the log line
# says which.
_SERVICE_REFUSALS = frozenset(
    {
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "SendingPausedException",
        "NotFoundException",  # the configuration set does not exist
        "AccessDeniedException",  # the function's role may not send from this identity
    }
)
# SES refusals of this message's recipient or content: an address SES cannot deliver to (v2
# `BadRequestException`; moto, like v1, says `InvalidParameterValue`, e.g. "Missing domain"), a
# message it rejects (`MessageRejected`; in the sandbox also a recipient not verified). Sending
# the same again cannot succeed: `RecipientRefused`, never an outage (an event's retries would
# only carry it into the DLQ).
_RECIPIENT_REFUSALS = frozenset({"BadRequestException", "InvalidParameterValue", "MessageRejected"})


def refusal_of(error: ClientError, sender: str) -> Exception | None:
    """What SES's `error` to a `SendEmail` from `sender` means: `RecipientRefused`,
    `DependencyUnavailable` (a refusal an operator must fix), or None (anything else).

    `MessageRejected` is also SES's answer when the sender's identity is not verified ("Email
    address is not verified. The following identities failed the check...: <sender>"): when
    its message names the sender, the operator must act, so it is an outage.
    """
    details = error.response.get("Error", {})
    code, message = str(details.get("Code", "")), str(details.get("Message", ""))
    address = parseaddr(sender)[1].lower()
    if code in _SERVICE_REFUSALS or (code == "MessageRejected" and address and address in message.lower()):
        return DependencyUnavailable("SES", f"{code}: {message}", retry_after=RETRY_AFTER_UNREACHABLE)
    if code in _RECIPIENT_REFUSALS:
        return RecipientRefused(message or code)
    return None


@reports_outages("SES")
class SesMailSender:
    """`MailSender` through an SES v2 client, from `sender`, in `configuration_set` (if any).

    The client is made by `client_factory` at the first send, not before: the webhooks queue's
    consumer wires this sender for every message, and most of them (webhook attempts, events
    nobody is mailed) never send mail, so they need not load SES's API model.
    """

    def __init__(self, client_factory: Callable[[], Any], *, sender: str, configuration_set: str | None) -> None:
        self._client_factory = client_factory
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, to: str, message: MailMessage) -> None:
        """Send `message` to `to`; `RecipientRefused` when SES refuses the address or the message,
        `DependencyUnavailable` in an outage or a refusal an operator must fix (`refusal_of`)."""
        if not self._sender:
            raise DependencyUnavailable(
                "SES", "no sender: set EMAIL_FROM for this stage (README: Notifications: email)", retry_after=60
            )
        request: dict[str, Any] = {
            "FromEmailAddress": self._sender,
            "Destination": {"ToAddresses": [to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": "UTF-8"},
                        "Html": {"Data": message.html, "Charset": "UTF-8"},
                    },
                }
            },
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            self._client_factory().send_email(**request)
        except ClientError as error:
            refusal = refusal_of(error, self._sender)
            if refusal is None:
                raise
            raise refusal from error
