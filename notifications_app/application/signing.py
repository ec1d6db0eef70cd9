"""The headers of a delivery, signed per the Standard Webhooks specification by its reference library."""

from __future__ import annotations

from datetime import datetime

from standardwebhooks import Webhook

USER_AGENT = "TaskManagementAPI-Webhooks/1.0"  # names the product, so receivers can tell its requests


def delivery_headers(*, message_id: str, body: str, secrets: list[str], now: datetime) -> dict[str, str]:
    """The headers of one attempt: `webhook-id` (the event id, which receivers deduplicate on),
    `webhook-timestamp` (Unix seconds of `now`) and `webhook-signature` (`v1,<base64>` per
    secret, space-separated: during a rotation both secrets sign, which the specification
    allows so receivers can switch keys without a gap).

    `secrets` are `whsec_` secrets, current first; `body` is the exact text POSTed.
    """
    signatures = " ".join(Webhook(secret).sign(msg_id=message_id, timestamp=now, data=body) for secret in secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
