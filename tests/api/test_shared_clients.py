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


def clients_in_use() -> set[int]:
    """The ids of the DynamoDB clients the transactions and every model class send through."""
    models = (*bootstrap.TABLE_MODELS, *READ_MODELS)
    return {
        id(bootstrap.table_connection().client),
        *(id(model._get_connection().connection.client) for model in models),
    }


def test_every_model_and_transaction_sends_through_the_one_client(api: Any) -> None:
    task = api.created()
    assert api.complete(task["task_id"]).status_code == 200  # tasks, outbox, idempotency, rate counters
    events_wiring.read_models().history(task["task_id"])  # the read models' classes

    assert clients_in_use() == {id(bootstrap.aws_target().client("dynamodb"))}


def test_a_restored_instance_sends_through_one_new_client(api: Any) -> None:
    api.created()
    events_wiring.read_models()
    before = clients_in_use()

    snapstart.refresh()  # what the after-restore hook runs

    assert api.created()["status"] == "pending"
    events_wiring.read_models()
    after = clients_in_use()
    assert len(after) == 1
    assert after != before


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
    taken = bootstrap.aws_target().client("sns")._request_signer._credentials.access_key

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIARESTORED")
    forget_clients()
    restored = bootstrap.aws_target().client("sns")._request_signer._credentials.access_key

    assert (taken, restored) == ("ASIASNAPSHOTTAKEN", "ASIARESTORED")
