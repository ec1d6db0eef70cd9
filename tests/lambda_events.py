"""Events as Lambda's SQS event source hands them to `config.lambda_handlers.consume_events`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def sqs_event(messages: Sequence[Mapping[str, Any] | str]) -> dict[str, Any]:
    """A batch event: each message a body (str) or a message as `AwsStack.drain` returns it (its
    SQS message attributes under `_attributes`, spelled here as Lambda spells them)."""
    records = []
    for index, message in enumerate(messages):
        attributes: Mapping[str, Mapping[str, str]] = {}
        if isinstance(message, str):
            body = message
        else:
            attributes = message.get("_attributes", {})
            body = json.dumps({name: value for name, value in message.items() if name != "_attributes"})
        records.append(
            {
                "messageId": f"m-{index}",
                "eventSource": "aws:sqs",
                "body": body,
                "attributes": {},
                "messageAttributes": {
                    name: {"stringValue": value["StringValue"], "dataType": value["DataType"]}
                    for name, value in attributes.items()
                },
            }
        )
    return {"Records": records}
