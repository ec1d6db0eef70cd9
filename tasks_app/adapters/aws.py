"""boto3 clients for one AWS target: real AWS, or the embedded local AWS when an endpoint is set."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient
    from mypy_boto3_cloudwatch.client import CloudWatchClient
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_iam.client import IAMClient
    from mypy_boto3_lambda.client import LambdaClient
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sts.client import STSClient

# Short timeouts: a request should fail fast rather than hold a Lambda until its own timeout.
_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


@dataclass(frozen=True)
class AwsTarget:
    """A region and, for a local AWS, its endpoint; hands out shared boto3 clients for it."""

    region: str
    endpoint_url: str | None

    @overload
    def client(self, service: Literal["dynamodb"]) -> DynamoDBClient: ...
    @overload
    def client(self, service: Literal["sns"]) -> SNSClient: ...
    @overload
    def client(self, service: Literal["sqs"]) -> SQSClient: ...
    @overload
    def client(self, service: Literal["lambda"]) -> LambdaClient: ...
    @overload
    def client(self, service: Literal["iam"]) -> IAMClient: ...
    @overload
    def client(self, service: Literal["apigateway"]) -> APIGatewayClient: ...
    @overload
    def client(self, service: Literal["cloudwatch"]) -> CloudWatchClient: ...
    @overload
    def client(self, service: Literal["sts"]) -> STSClient: ...
    def client(self, service: str) -> Any:
        return _client(service, self.region, self.endpoint_url)


@cache
def _client(service: str, region: str, endpoint_url: str | None) -> Any:
    """One client per service and target: building one loads its API model (tens of ms), and
    clients are safe to share between threads."""
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=endpoint_url,
        config=_CLIENT_CONFIG,
    )


def forget_clients() -> None:
    """Drop the shared clients: their connections and cached credentials belong to one process."""
    _client.cache_clear()
