"""Telling an outage from a bug: the AWS SDK's errors that mean "try again later".

botocore retries these itself (standard mode, `aws.RETRY_BUDGET`); when its attempts run out,
the adapters raise `DependencyUnavailable` instead, which the API answers with 503
`SERVICE_UNAVAILABLE` and `Retry-After` (SPEC §2) and the consumers leave for redelivery.
Anything else (a validation error from AWS, missing credentials, a wrong table name) stays what
it is: a bug or a misconfiguration, a 500.

What counts as an outage is botocore's own retry classification, so that "retried by the SDK"
and "an outage once retries are spent" are the same list.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker, TransientRetryableChecker
from pynamodb.exceptions import PynamoDBException, TransactWriteError

from tasks_app.application.ports import DependencyUnavailable

# Seconds a client should wait (the `Retry-After` header). Throttling clears as soon as the
# request rate drops; an unreachable or stalled service takes longer to come back.
RETRY_AFTER_THROTTLED = 2
RETRY_AFTER_UNREACHABLE = 5

# DynamoDB reports throttling inside a cancelled transaction as a cancellation reason, not as
# the error's code (TransactWriteItems API reference, "CancellationReasons").
_THROTTLED_CANCELLATION_CODES = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})

# Contention that clears by itself, which botocore does not retry: a write that met a DynamoDB
# transaction in progress on the same item (DynamoDB developer guide, "Transaction conflict
# handling"). Any 429 is a rate limit, whatever its body says.
_CONTENTION_CODES = frozenset({"TransactionConflictException"})

_throttled = ThrottledRetryableChecker()
_transient = TransientRetryableChecker()

C = TypeVar("C", bound=type)


def outage_in(error: BaseException, dependency: str) -> DependencyUnavailable | None:
    """The outage `error` reports, or None when it is not one.

    `error` is what boto3 or PynamoDB raised (PynamoDB wraps botocore's error as its `cause`);
    `dependency` names the service for the message ("DynamoDB", "SNS").
    """
    cause: BaseException | None = error
    if isinstance(error, PynamoDBException):
        if isinstance(error, TransactWriteError) and any(
            reason is not None and reason.code in _THROTTLED_CANCELLATION_CODES for reason in error.cancellation_reasons
        ):
            return DependencyUnavailable(dependency, "throttled", retry_after=RETRY_AFTER_THROTTLED)
        cause = error.cause
    if isinstance(cause, (ConnectionError, HTTPClientError)):  # refused, reset, connect or read timeout
        return DependencyUnavailable(dependency, type(cause).__name__, retry_after=RETRY_AFTER_UNREACHABLE)
    if isinstance(cause, ClientError):
        context = RetryContext(attempt_number=1, parsed_response=dict(cause.response), caught_exception=cause)
        code = context.get_error_code() or "an error"
        status = _http_status(cause)
        if _throttled.is_retryable(context) or code in _CONTENTION_CODES or status == 429:
            return DependencyUnavailable(dependency, f"throttled ({code})", retry_after=RETRY_AFTER_THROTTLED)
        if _transient.is_retryable(context) or status >= 500:
            return DependencyUnavailable(dependency, f"{code} (HTTP {status})", retry_after=RETRY_AFTER_UNREACHABLE)
    return None


def _http_status(error: ClientError) -> int:
    """The HTTP status of the response behind `error`. PynamoDB re-raises botocore's error as its
    own `VerboseClientError` without the response metadata, chained to the original."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ClientError) and "HTTPStatusCode" in seen.response.get("ResponseMetadata", {}):
            return int(seen.response["ResponseMetadata"]["HTTPStatusCode"])
        seen = seen.__cause__
    return 0


@contextmanager
def translating_outages(dependency: str) -> Iterator[None]:
    """Raises `DependencyUnavailable` (chained to the SDK's error) for an outage inside the block;
    lets every other exception through unchanged."""
    try:
        yield
    except DependencyUnavailable:
        raise
    except Exception as error:
        outage = outage_in(error, dependency)
        if outage is None:
            raise
        raise outage from error


def reports_outages(dependency: str) -> Callable[[C], C]:
    """A class decorator for adapters: each public method runs inside `translating_outages`, so
    no caller of a port ever sees an SDK error for an outage (and no new method can forget to)."""

    def decorate(cls: C) -> C:
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, _translated(member, dependency))
        return cls

    return decorate


def _translated(method: Callable[..., Any], dependency: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def translated(*args: Any, **kwargs: Any) -> Any:
        with translating_outages(dependency):
            return method(*args, **kwargs)

    return translated
