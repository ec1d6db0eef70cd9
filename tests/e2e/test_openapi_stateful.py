"""Schemathesis's stateful tests: sequences of requests that follow the schema's OpenAPI links.

`links_between_operations` (tasks_app/api/openapi.py) links every response holding one task to
every operation on `/tasks/{task_id}`, and a delete's 204 to them too. Hypothesis walks those
links from a create: the task just created is updated, started, completed, cancelled, reopened,
deleted, restored and read back, in generated orders and with generated bodies and headers.
Every check schemathesis has runs on every response, `use_after_free` and
`ensure_resource_availability` (which need such sequences) included. In-process over WSGI,
against the embedded local AWS, with authentication off and on.
"""

from __future__ import annotations

import itertools
import json
import re
import zlib
from typing import Any

import schemathesis
from django.test import override_settings
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case

from config.wsgi import application
from ops.local.user_pool import TokenIssuer, bearer

# Every real server gives the peer's address (Zappa: API Gateway's); werkzeug's test client does not.
CLIENT = {"REMOTE_ADDR": "198.51.100.7"}
# Whose tasks: named in each create with authentication off, the token's user with it on.
OWNER = "stateful"
STATEFUL_SETTINGS = settings(
    # No shrinking (nor replay of a saved failure): the server's state from earlier scenarios would
    # make the replays differ. Schemathesis's own stateful runs use the generate phase alone too.
    phases=[Phase.generate],
    # 15 scenarios stopped with Hypothesis's FlakyStrategyDefinition once the schema documented the
    # strict headers and bodies (2026-12-02): schemathesis's stateful strategies drew differently
    # when a scenario's prefix was replayed later in the run. That is about the generator, not the
    # API, and no check failed; 10 scenarios (60 steps per auth mode) run clean.
    max_examples=10,
    stateful_step_count=6,
    derandomize=True,  # the same scenarios every run
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

_SCENARIOS = itertools.count()
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # SPEC §2: 1 to 255 printable ASCII characters

load_all_checks()
USE_AFTER_FREE = CHECKS.get_one("use_after_free")
# `use_after_free` takes a deleted resource, and every path under it, for gone for good. Here a
# delete moves the task to the trash (SPEC §1): a restore brings it back (after which it is no
# longer deleted, though schemathesis still counts it so), and its history stays, so its events
# are served in the trash too. The check runs, then, exactly where its premise holds: on a task
# that is in the trash, for every operation but this one.
_OUTLIVES_DELETION = "GET /tasks/{task_id}/events"


def _loaded() -> Any:
    """The schema as served in the auth mode of the moment, ready for a state machine.

    As in test_openapi_fuzz.py: 412 and 422 depend on the server's state, not on the request's
    form, so `positive_data_acceptance` accepts them; and the token is this test's own, so
    schemathesis generates no `Authorization` of its own.
    """
    loaded = schemathesis.openapi.from_wsgi("/api/schema?format=json", application)
    positive = loaded.config.checks.positive_data_acceptance
    positive.expected_statuses = [*positive.expected_statuses, "412", "422"]  # a new list: never the default's
    loaded.config.generation.with_security_parameters = False
    # Only the schema's own links: links inferred from names would start scenarios at the listings.
    loaded.config.phases.stateful.inference.algorithms = []
    # Schemathesis guesses from its name that `user_id` refers to a "User" resource, which no
    # operation produces, and so never starts a scenario with a create (then only random task ids
    # reach the task operations, and only their 404s are tested). Any user id is valid: drop the guess.
    create = loaded.analysis.dependency_graph.operations["POST /tasks"]
    create.inputs = [slot for slot in create.inputs if slot.resource.name != "User"]
    return loaded


# Loaded once at collection (tests.settings: AUTH_MODE=none); generating the schema needs no AWS.
schema = _loaded()
with override_settings(AUTH_MODE="jwt"):
    jwt_schema = _loaded()


def _lifecycle(loaded: Any) -> Any:
    """The generated state machine of `loaded`, with an owner for every create, ETags that
    match now and then, and every check. Scenarios start with a create: the task operations on
    random ids (all 404s) are test_openapi_fuzz.py's, and here would only spend the budget."""
    generated: Any = loaded.as_state_machine()

    class TaskLifecycle(generated):  # type: ignore[misc]
        root_rules = frozenset({"RANDOM__POST_tasks"})
        token: str | None = None  # set by a test with authentication on

        def setup(self) -> None:
            self.etags: dict[str, str] = {}
            self.in_trash: set[str] = set()
            self.scenario = next(_SCENARIOS)

        def before_call(self, case: Case) -> None:
            if case.operation.label == "POST /tasks" and isinstance(case.body, dict):
                # Off: the owner must be named. On: naming anyone but the caller is a 403.
                case.body["user_id"] = OWNER
            headers = case.headers if case.headers is not None else {}
            # Idempotency keys are kept for 24 hours per caller: every valid key gets this
            # scenario's prefix, so no scenario replays an earlier one's response.
            if (key := headers.get("Idempotency-Key")) is not None and _VALID_KEY.fullmatch(str(key)):
                headers["Idempotency-Key"] = f"scenario-{self.scenario}-{key}"[:255]
            # Half the generated If-Match values become the task's current ETag, so the writes are
            # tested past their 412 (deterministically: the choice depends on the generated value).
            task_id = str((case.path_parameters or {}).get("task_id"))
            if_match = headers.get("If-Match")
            if if_match is not None and task_id in self.etags and zlib.crc32(str(if_match).encode()) % 2 == 0:
                headers["If-Match"] = self.etags[task_id]
            case.headers = headers

        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            etag = response.headers.get("etag")
            task_id = (case.path_parameters or {}).get("task_id")
            if response.status_code == 201:
                task_id = response.json()["data"]["task_id"]
            if etag and task_id:
                self.etags[str(task_id)] = etag[0] if isinstance(etag, list) else str(etag)
            if case.operation.label == "DELETE /tasks/{task_id}" and response.status_code == 204:
                self.in_trash.add(str(task_id))
            elif case.operation.label == "POST /tasks/{task_id}/restore" and response.status_code == 200:
                self.in_trash.discard(str(task_id))

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            # The token goes in as the caller's own header, not the case's: schemathesis then knows
            # it for a valid one (`ignored_auth` probes that the same request without it is a 401).
            token = {"headers": {"Authorization": f"Bearer {self.token}"}} if self.token else {}
            return {"environ_overrides": CLIENT, **token}

        def validate_response(
            self, response: Response, case: Case, additional_checks: list[Any] | None = None, **kwargs: Any
        ) -> None:
            task_id = str((case.path_parameters or {}).get("task_id"))
            trashed = task_id in self.in_trash and case.operation.label != _OUTLIVES_DELETION
            excluded: list[Any] = [] if trashed else [USE_AFTER_FREE]
            case.validate_response(
                response,
                excluded_checks=excluded,
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    for rule in generated.root_rules - TaskLifecycle.root_rules:
        setattr(TaskLifecycle, rule, None)  # no longer a rule: scenarios start with a create
    return TaskLifecycle


TaskLifecycle = _lifecycle(schema)
JwtTaskLifecycle = _lifecycle(jwt_schema)


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


def test_linked_sequences_of_requests_without_authentication(api: Any) -> None:
    """Scenarios of up to six linked steps; `api` provisions the table and queues they write to."""
    TaskLifecycle.run(settings=STATEFUL_SETTINGS)


def test_linked_sequences_of_requests_with_authentication(api: Any, issuer: TokenIssuer) -> None:
    """The same with a bearer token: every task is the caller's."""
    JwtTaskLifecycle.token = bearer(issuer.token(OWNER))["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    JwtTaskLifecycle.run(settings=STATEFUL_SETTINGS)


def application_schema() -> str:
    from django.test import Client

    response = Client().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return response.content.decode()
