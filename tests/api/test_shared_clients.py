"""One AWS session and one DynamoDB client for the whole API: each extra botocore client costs a
cold start 140-215 ms, and a SnapStart restore rebuilds them all with fresh credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from config import snapstart
from events_app import bootstrap as events_wiring
from events_app.read_models import READ_MODELS
from tasks_app import bootstrap
from tasks_app.adapters.aws import forget_clients


def clients_in_use() -> list[Any]:
    """The DynamoDB clients the transactions and every model class send through, one per user."""
    models = (*bootstrap.TABLE_MODELS, *READ_MODELS)
    return [bootstrap.table_connection().client, *(model._get_connection().connection.client for model in models)]


def test_every_model_and_transaction_sends_through_the_one_client(api: Any) -> None:
    task = api.created()
    assert api.complete(task["task_id"]).status_code == 200  # tasks, outbox, idempotency, rate counters
    events_wiring.read_models().history(task["task_id"])  # the read models' classes

    shared = bootstrap.aws_target().client("dynamodb")
    assert all(client is shared for client in clients_in_use())


def test_a_restored_instance_sends_through_one_new_client(api: Any) -> None:
    api.created()
    events_wiring.read_models()
    [before, *_] = clients_in_use()  # held, so that no new client can take its place in memory

    snapstart.refresh()  # what the after-restore hook runs

    assert api.created()["status"] == "pending"
    events_wiring.read_models()
    after = clients_in_use()
    assert all(client is after[0] for client in after)
    assert after[0] is not before


@pytest.fixture
def forgetting(aws: Any) -> Iterator[None]:
    yield
    forget_clients()  # the next tests get clients with the credentials they set


def test_clients_made_after_forgetting_use_the_credentials_given_since(
    forgetting: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restored instance gets its own execution-role credentials: clients must not keep the snapshot's."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIASNAPSHOTTAKEN")
    forget_clients()
    taken = access_key(bootstrap.aws_target().client("sns"))

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIARESTORED")
    forget_clients()
    restored = access_key(bootstrap.aws_target().client("sns"))

    assert (taken, restored) == ("ASIASNAPSHOTTAKEN", "ASIARESTORED")


def access_key(client: Any) -> str:
    """The access key id the client signs its requests with."""
    return str(client._request_signer._credentials.access_key)
