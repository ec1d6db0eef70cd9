"""boto3 clients for one AWS target: real AWS, or the embedded local AWS when an endpoint is set."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient
    from mypy_boto3_cloudwatch.client import CloudWatchClient
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_iam.client import IAMClient
    from mypy_boto3_lambda.client import LambdaClient
    from mypy_boto3_sns.client import SNSClient
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sts.client import STSClient

# Connections each shared client (and each PynamoDB model's) keeps open, per endpoint. Clients
# are shared by every thread of a process, and `manage.py runserver` (the local stack's API)
# serves each request on a thread of its own: with botocore's default of 10, 20 concurrent
# clients made it log "Connection pool is full" (and drop the extra connections) 100 to 190
# times in 20 s. 50 covers the 20 concurrent clients the local stack is measured with
# (`make bench`, which counts those warnings: none since) with room to spare. Lambda serves
# one request at a time, so there the pool never holds more than a connection or two:
# connections are opened only when needed, and a larger maximum costs nothing.
MAX_POOL_CONNECTIONS = 50


@dataclass(frozen=True)
class RetryBudget:
    """How long one AWS call may take before it is an outage, all retries included.

    `connect_timeout` and `read_timeout` are seconds per attempt; `attempts` counts the first
    try. botocore's standard retry mode waits `rand(0, 1) * 2**i` seconds after attempt `i`
    (0-based, capped at 20 s) before the next one.
    """

    connect_timeout: float
    read_timeout: float
    attempts: int

    @property
    def worst_case_seconds(self) -> float:
        """The longest a call can take: every attempt timing out, with the longest backoffs."""
        backoff = sum(min(2.0**attempt, 20.0) for attempt in range(self.attempts - 1))
        return self.attempts * (self.connect_timeout + self.read_timeout) + backoff


# One budget for every client (boto3's and PynamoDB's). DynamoDB answers in milliseconds and the
# local AWS under `make bench`'s load in about a second, so 3 s to read is a stall, not a slow
# answer. A stalled call gives up after at most 15 s and the API answers 503 (SPEC §2), well
# inside API Gateway's 29 s integration timeout, after which a client would get the gateway's
# 504 instead. A request stops at its first outage, so it spends one budget, not one per call.
RETRY_BUDGET = RetryBudget(connect_timeout=1, read_timeout=3, attempts=3)
API_GATEWAY_TIMEOUT_SECONDS = 29  # the REST API integration timeout (API Gateway quotas)

_CLIENT_CONFIG = Config(
    connect_timeout=RETRY_BUDGET.connect_timeout,
    read_timeout=RETRY_BUDGET.read_timeout,
    retries={"mode": "standard", "total_max_attempts": RETRY_BUDGET.attempts},
    max_pool_connections=MAX_POOL_CONNECTIONS,
)


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
    @overload
    def client(self, service: Literal["dynamodbstreams", "s3"]) -> Any: ...  # no type stubs installed for them
    def client(self, service: str) -> Any:
        return _client(service, self.region, self.endpoint_url)

    def read_object(self, bucket: str, key: str) -> bytes:
        """The content of the S3 object `key` in `bucket`, read with the shared session's client.

        Raises botocore's ClientError (NoSuchKey, NoSuchBucket, AccessDenied) or BotoCoreError
        (no credentials, no connection), after `RETRY_BUDGET`'s retries.
        """
        body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        content: bytes = body.read()
        return content


# What some services' clients add to `_CLIENT_CONFIG`. PynamoDB's models and transactions send
# through the DynamoDB client too (`bind_table`): PynamoDB turns botocore's parameter validation
# off, as its requests are built from the models, so the one client does as PynamoDB's did.
_SERVICE_CONFIG = {"dynamodb": _CLIENT_CONFIG.merge(Config(parameter_validation=False))}


@cache
def _client(service: str, region: str, endpoint_url: str | None) -> Any:
    """One client per service and target: building one loads its API model, and clients are safe
    to share between threads."""
    with _SESSION_LOCK:  # a session is not: its clients are built one at a time
        return _session().client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=endpoint_url,
            config=_SERVICE_CONFIG.get(service, _CLIENT_CONFIG),
        )


_SESSION_LOCK = threading.Lock()
_LOADER: list[Loader] = []  # the first session's, kept when the session is forgotten


@cache
def _session() -> boto3.session.Session:
    """The session every client is built from, boto3's and PynamoDB's: the credentials are
    resolved once, and a client from a new session loads the SDK's service model and endpoint
    data again: 120 to 270 ms here, against 7 to 13 ms from a session that built one before.

    A session made after `forget_clients` (after a SnapStart restore) resolves its credentials
    afresh but reads that data through the first session's loader, which caches what it read:
    the data is the SDK's own files, the same for every session, and holds no credentials.
    """
    core = botocore.session.get_session()
    if _LOADER:
        core.register_component("data_loader", _LOADER[0])
    else:
        _LOADER.append(core.get_component("data_loader"))
    return boto3.session.Session(botocore_session=core)


def forget_clients() -> None:
    """Drop the shared clients and their session: their connections and cached credentials belong
    to one process. The next client comes from a new session (see `_session`)."""
    _client.cache_clear()
    _session.cache_clear()
