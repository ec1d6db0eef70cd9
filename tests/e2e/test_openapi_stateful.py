"""Schemathesis's stateful tests: sequences of requests that follow the schema's OpenAPI links.

`links_between_operations` (tasks_app/api/openapi.py) links every response holding one task to
every operation on `/tasks/{task_id}`, and a delete's 204 to them too. Hypothesis walks those
links from a create: the task just created is updated, started, completed, cancelled, reopened,
deleted, restored and read back, in generated orders and with generated bodies and headers.
Every response must be no server error and must be documented (status, content type, body).
In-process over WSGI, against the embedded local AWS, with authentication off.
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case

from config.wsgi import application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Every real server gives the peer's address (Zappa: API Gateway's); werkzeug's test client does not.
CLIENT = {"REMOTE_ADDR": "198.51.100.7"}
# With authentication off a create names its owner; generated bodies may leave it out.
OWNER = "stateful"
STATEFUL_SETTINGS = settings(
    # No shrinking (nor replay of a saved failure): the server's state from earlier scenarios would
    # make the replays differ. Schemathesis's own stateful runs use the generate phase alone too.
    phases=[Phase.generate],
    max_examples=15,
    stateful_step_count=6,
    derandomize=True,  # the same scenarios every run
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

_SCENARIOS = itertools.count()
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # SPEC §2: 1 to 255 printable ASCII characters

# Loaded once at collection (tests.settings: AUTH_MODE=none); generating the schema needs no AWS.
schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", application)
# Only the schema's own links: links inferred from names would start scenarios at the listings.
schema.config.phases.stateful.inference.algorithms = []
# Schemathesis guesses from its name that `user_id` refers to a "User" resource, which no
# operation produces, and so never starts a scenario with a create (then only random task ids
# reach the task operations, and only their 404s are tested). Any user id is valid: drop the guess.
_create = schema.analysis.dependency_graph.operations["POST /tasks"]
_create.inputs = [slot for slot in _create.inputs if slot.resource.name != "User"]


_Generated: Any = schema.as_state_machine()


def _declared_fields() -> dict[str, set[str]]:
    """Each operation's documented body fields, by label."""
    components = schema.raw_schema["components"]["schemas"]
    fields = {}
    for path, path_item in schema.raw_schema["paths"].items():
        for method, operation in path_item.items():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
                fields[f"{method.upper()} {path}"] = set(components[ref].get("properties", {}))
    return fields


DECLARED_FIELDS = _declared_fields()


class TaskLifecycle(_Generated):  # type: ignore[misc]
    """The generated state machine, with an owner for every create, ETags that match now and then,
    and this module's checks. Scenarios start with a create: the task operations on random ids
    (all 404s) are test_openapi_fuzz.py's, and here would only spend the budget."""

    root_rules = frozenset({"RANDOM__POST_tasks"})
    _root_labels = frozenset({"POST /tasks"})

    def setup(self) -> None:
        self.etags: dict[str, str] = {}
        self.scenario = next(_SCENARIOS)

    def before_call(self, case: Case) -> None:
        if case.operation.label == "POST /tasks" and isinstance(case.body, dict):
            case.body.setdefault("user_id", OWNER)
        # The body schemas do not say `additionalProperties: false`, so generated bodies carry
        # unknown fields, which the API rightly refuses (a 400): half the bodies lose them.
        declared = DECLARED_FIELDS.get(case.operation.label)
        if declared is not None and isinstance(case.body, dict) and zlib.crc32(repr(case.body).encode()) % 2:
            case.body = {name: value for name, value in case.body.items() if name in declared}
        headers = case.headers if case.headers is not None else {}
        # Idempotency keys are kept for 24 hours and, with authentication off, shared by all: every
        # valid key gets this scenario's prefix, so no scenario replays an earlier one's response.
        # The schema types the key as any string, so most generated keys are a 400 (which
        # test_openapi_fuzz.py covers): half of those become a valid key too.
        if (key := headers.get("Idempotency-Key")) is not None:
            key = str(key)
            prefix = f"scenario-{self.scenario}-"
            if _VALID_KEY.fullmatch(key):
                headers["Idempotency-Key"] = (prefix + key)[:255]
            elif zlib.crc32(key.encode()) % 2:
                headers["Idempotency-Key"] = f"{prefix}{zlib.crc32(key.encode())}"
        # Half the generated If-Match values become the task's current ETag, so the writes are
        # tested past their 412 (deterministically: the choice depends on the generated value).
        task_id = str((case.path_parameters or {}).get("task_id"))
        if_match = headers.get("If-Match")
        if if_match is not None and task_id in self.etags and zlib.crc32(str(if_match).encode()) % 2 == 0:
            headers["If-Match"] = self.etags[task_id]

    def after_call(self, response: Response, case: Case) -> None:
        super().after_call(response, case)
        etag = response.headers.get("etag")
        task_id = (case.path_parameters or {}).get("task_id")
        if response.status_code == 201:
            task_id = response.json()["data"]["task_id"]
        if etag and task_id:
            self.etags[str(task_id)] = etag[0] if isinstance(etag, list) else str(etag)

    def get_call_kwargs(self, case: Case) -> dict[str, Any]:
        return {"environ_overrides": CLIENT}

    def validate_response(
        self, response: Response, case: Case, additional_checks: list[Any] | None = None, **kwargs: Any
    ) -> None:
        case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs, recorder=self.recorder)


for _rule in _Generated.root_rules - TaskLifecycle.root_rules:
    setattr(TaskLifecycle, _rule, None)  # no longer a rule: scenarios start with a create


def test_the_links_reach_every_operation_on_a_task() -> None:
    """The links are there, and use the generated operation ids."""
    document = json.loads(application_schema())
    operations = {
        operation["operationId"]: operation
        for path_item in document["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict)
    }
    on_a_task = {
        name
        for name, operation in operations.items()
        if any(p["in"] == "path" and p["name"] == "task_id" for p in operation.get("parameters", []))
    }
    assert len(on_a_task) == 9
    created = operations["tasks_create"]["responses"]["201"]["links"]
    assert set(created) == on_a_task
    assert {link["parameters"]["task_id"] for link in created.values()} == {"$response.body#/data/task_id"}
    deleted = operations["tasks_destroy"]["responses"]["204"]["links"]
    assert "tasks_restore" in deleted
    assert deleted["tasks_restore"]["parameters"] == {"task_id": "$request.path.task_id"}


def test_linked_sequences_of_requests(api: Any) -> None:
    """Scenarios of up to six linked steps; `api` provisions the table and queues they write to."""
    TaskLifecycle.run(settings=STATEFUL_SETTINGS)


def application_schema() -> str:
    from django.test import Client

    response = Client().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return response.content.decode()
