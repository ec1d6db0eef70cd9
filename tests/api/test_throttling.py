"""Rate limits shared through DynamoDB: per caller and per client IP, 429 with Retry-After."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from rest_framework.test import APIClient

from ops.local.user_pool import bearer
from tasks_app.adapters.rate_leases import lease_size

# Their rate windows (a minute, a day) must not end mid-test, whatever the time CI runs at.
pytestmark = pytest.mark.usefixtures("frozen_rate_window")


def test_a_caller_over_their_rate_gets_429_with_retry_after(api, issuer, settings):
    settings.THROTTLE_RATES = {"user": "3/day", "ip": None}  # a day: no window ends mid-test
    alice, bob = bearer(issuer.token("alice")), bearer(issuer.token("bob"))
    statuses = [api.client.get("/tasks", **alice).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = api.client.get("/tasks", **alice)
    assert throttled.json()["error"]["code"] == "THROTTLED"
    assert 1 <= int(throttled["Retry-After"]) <= 86400  # the seconds to the window's end
    assert api.client.get("/tasks", **bob).status_code == 200  # bob has his own count


def test_the_count_is_shared_by_every_client_of_the_same_caller(api, issuer, settings):
    """Two API instances count in the same DynamoDB item, as separate clients do here."""
    settings.THROTTLE_RATES = {"user": "4/day", "ip": None}
    alice = bearer(issuer.token("alice"))
    first, second = APIClient(), APIClient()
    assert [first.get("/tasks", **alice).status_code for _ in range(2)] == [200, 200]
    assert [second.get("/tasks", **alice).status_code for _ in range(3)] == [200, 200, 429]


def test_a_client_address_over_its_rate_is_throttled_whoever_it_claims_to_be(api, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "2/day"}
    statuses = [
        api.client.get("/tasks", {"user_id": "a"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(3)
    ]
    assert statuses == [200, 200, 429]  # X-Forwarded-For is not believed
    assert api.client.get("/tasks", {"user_id": "a"}, REMOTE_ADDR="192.0.2.7").status_code == 200


def test_the_counters_expire(api, aws, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "100/min"}
    api.client.get("/tasks", {"user_id": "a"})
    items = aws.target.client("dynamodb").scan(TableName=aws.resources.table_name)["Items"]
    [counter] = [item for item in items if item["PK"]["S"].startswith("RATE#ip#")]
    assert "ExpiresAt" in counter
    assert counter["Hits"] == {"N": str(lease_size(100))}  # the request's lease, taken at once


def test_requests_with_bad_tokens_count_against_the_address(api, issuer, settings):
    """Throttles run after authentication in DRF; a flood of forged tokens must still be limited."""
    settings.THROTTLE_RATES = {"user": None, "ip": "2/day"}
    statuses = [api.client.get("/tasks", HTTP_AUTHORIZATION="Bearer not-a-token").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def _behind_api_gateway(source_ip: str, forwarded_for: str) -> dict[str, object]:
    """What Zappa's handler puts in the WSGI environ: REMOTE_ADDR from X-Forwarded-For (its
    second-to-last entry: on a regional endpoint, one the client wrote), and the event."""
    return {
        "REMOTE_ADDR": [part.strip() for part in forwarded_for.split(",")][-2],
        "HTTP_X_FORWARDED_FOR": forwarded_for,
        "lambda.event": {"requestContext": {"identity": {"sourceIp": source_ip}}},
    }


def test_behind_api_gateway_the_address_is_the_connections_source_ip(api, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "2/day"}
    spoofed = [
        api.client.get("/tasks", {"user_id": "a"}, **_behind_api_gateway("198.51.100.9", f"10.0.0.{n}, 198.51.100.9"))
        for n in range(3)
    ]
    assert [response.status_code for response in spoofed] == [200, 200, 429]
    elsewhere = _behind_api_gateway("198.51.100.10", "10.0.0.1, 198.51.100.10")
    other = api.client.get("/tasks", {"user_id": "a"}, **elsewhere)
    assert other.status_code == 200


def test_an_ipv6_client_is_counted_by_its_64_prefix(api, settings):
    """One subscriber gets a whole /64; rotating through it must not multiply the limit."""
    settings.THROTTLE_RATES = {"user": None, "ip": "2/day"}
    statuses = [
        api.client.get("/tasks", {"user_id": "a"}, REMOTE_ADDR=f"2001:db8:1:2::{n:x}").status_code for n in range(1, 4)
    ]
    assert statuses == [200, 200, 429]
    assert api.client.get("/tasks", {"user_id": "a"}, REMOTE_ADDR="2001:db8:1:3::1").status_code == 200


def test_ipv4_clients_seen_through_a_dual_stack_server_keep_their_own_counts(api, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "1/day"}
    statuses = [
        api.client.get("/tasks", {"user_id": "a"}, REMOTE_ADDR=f"::ffff:198.51.100.{n}").status_code for n in range(3)
    ]
    assert statuses == [200, 200, 200]


def test_an_http_api_events_source_ip_is_trusted_too(api, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "2/day"}
    event = {"version": "2.0", "requestContext": {"http": {"sourceIp": "198.51.100.30"}}}
    statuses = [
        api.client.get("/tasks", {"user_id": "a"}, REMOTE_ADDR=f"10.0.0.{n}", **{"lambda.event": event}).status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param(
            lambda n: {"lambda.event": {"requestContext": {"elb": {}}}, "REMOTE_ADDR": f"10.0.0.{n}"}, id="ALB"
        ),
        pytest.param(lambda n: {"REMOTE_ADDR": f"{n}" + "x" * 3000}, id="not an address"),
    ],
)
def test_callers_without_a_trustworthy_address_share_one_count(api, settings, environ):
    settings.THROTTLE_RATES = {"user": None, "ip": "2/day"}
    statuses = [api.client.get("/tasks", {"user_id": "a"}, **environ(n)).status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_when_dynamodb_throttles_the_counter_the_request_is_throttled(api, settings, monkeypatch):
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import UpdateError

    from tasks_app.adapters.dynamodb.rate_counter import RateCounterItem

    def throttled(*args: object, **kwargs: object) -> None:
        error: Any = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}
        raise UpdateError("Failed to update item", cause=ClientError(error, "UpdateItem"))

    settings.THROTTLE_RATES = {"user": None, "ip": "100/min"}
    monkeypatch.setattr(RateCounterItem, "update", throttled)
    response = api.client.get("/tasks", {"user_id": "a"})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "THROTTLED"
    assert response["Retry-After"] == "1"


def test_when_dynamodb_throttles_the_counter_a_change_is_throttled_and_not_made(api, settings, monkeypatch):
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import UpdateError

    from tasks_app.adapters.dynamodb.rate_counter import RateCounterItem

    def throttled(*args: object, **kwargs: object) -> None:
        error: Any = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise UpdateError("Failed to update item", cause=ClientError(error, "UpdateItem"))

    settings.THROTTLE_RATES = {"user": None, "ip": "100/min"}
    with monkeypatch.context() as patched:
        patched.setattr(RateCounterItem, "update", throttled)
        response = api.create("alice", title="not now")
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    settings.THROTTLE_RATES = {"user": None, "ip": None}
    assert api.list(user_id="alice").json()["data"] == []


def test_a_counter_that_fails_for_a_bug_lets_a_change_through(api, settings, monkeypatch, caplog):
    from tasks_app.adapters.dynamodb.rate_counter import RateCounterItem

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("Hits")

    settings.THROTTLE_RATES = {"user": None, "ip": "100/min"}
    monkeypatch.setattr(RateCounterItem, "update", broken)
    assert api.create("alice", title="made anyway").status_code == 201
    assert "The rate counter failed; letting the request through" in caplog.text


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda api, task_id: api.patch(task_id, {"title": "not now"}), id="PATCH"),
        pytest.param(lambda api, task_id: api.delete(task_id), id="DELETE"),
    ],
)
def test_when_dynamodb_throttles_a_take_beside_a_read_the_change_is_throttled_and_not_made(
    api, settings, monkeypatch, change
):
    from botocore.exceptions import ClientError
    from pynamodb.exceptions import UpdateError

    from tasks_app.adapters.dynamodb.rate_counter import RateCounterItem

    def throttled(*args: object, **kwargs: object) -> None:
        error: Any = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        raise UpdateError("Failed to update item", cause=ClientError(error, "UpdateItem"))

    task = api.created("alice", title="as it was")  # rates off: no lease for this address
    settings.THROTTLE_RATES = {"user": None, "ip": "100/min"}
    with monkeypatch.context() as patched:
        patched.setattr(RateCounterItem, "update", throttled)
        response = change(api, task["task_id"])
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "THROTTLED"
    assert response["Retry-After"] == "1"
    settings.THROTTLE_RATES = {"user": None, "ip": None}
    assert api.get(task["task_id"]).json()["data"] == task


def test_a_counter_that_fails_for_a_bug_lets_an_action_through(api, settings, monkeypatch, caplog):
    from tasks_app.adapters.dynamodb.rate_counter import RateCounterItem

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("Hits")

    task = api.created("alice")
    settings.THROTTLE_RATES = {"user": None, "ip": "100/min"}
    monkeypatch.setattr(RateCounterItem, "update", broken)
    response = api.complete(task["task_id"])
    assert response.status_code == 200, response.content
    assert response.json()["data"]["status"] == "completed"
    assert "The rate counter failed; letting the request through" in caplog.text


def test_the_docs_are_rate_limited_with_retry_after_too(api, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "1/day"}
    assert api.client.get("/api/schema").status_code == 200
    throttled = api.client.get("/api/schema")
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "THROTTLED"
    assert int(throttled["Retry-After"]) >= 1


def test_every_api_view_is_limited_by_the_one_shared_throttle():
    """The limit rides on DRF's default throttle: a view with its own list would lose it."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

    from tasks_app.api.throttling import RequestRateThrottle

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                yield pattern.callback.cls

    drf_views = {*views(get_resolver().url_patterns), SpectacularAPIView, SpectacularSwaggerView}
    assert len(drf_views) >= 4
    for view in drf_views:
        assert [type(throttle) for throttle in view().get_throttles()] == [RequestRateThrottle], view


def test_a_read_over_the_limit_gets_the_429_envelope_and_none_of_the_task(api, issuer, settings):
    """The count runs beside the read; when it says over, what the read found is discarded."""
    alice = api.signed_in(issuer.token("alice"))
    task = alice.created("alice", title="Quarterly secrets")
    settings.THROTTLE_RATES = {"user": "1/day", "ip": None}
    assert alice.get(task["task_id"]).status_code == 200

    throttled = alice.get(task["task_id"])

    assert throttled.status_code == 429
    body = throttled.json()
    assert body["success"] is False
    assert body["error"]["code"] == "THROTTLED"
    assert set(body) == {"success", "error"}
    assert task["task_id"] not in throttled.content.decode()
    assert "Quarterly secrets" not in throttled.content.decode()
    assert "ETag" not in throttled
    assert 1 <= int(throttled["Retry-After"]) <= 86400


def test_a_write_over_the_limit_does_not_happen(api, issuer, settings):
    alice = api.signed_in(issuer.token("alice"))
    settings.THROTTLE_RATES = {"user": "1/day", "ip": None}
    assert alice.create("alice", title="first").status_code == 201

    throttled = alice.create("alice", title="second")

    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "THROTTLED"
    settings.THROTTLE_RATES = {"user": None, "ip": None}
    assert [task["title"] for task in alice.list().json()["data"]] == ["first"]


def test_a_signed_in_user_is_counted_as_themself_not_by_their_address(api, issuer, settings):
    """One count per request: the user's when a token proves who they are, the address's otherwise."""
    settings.THROTTLE_RATES = {"user": "2/day", "ip": "1/day"}
    alice, bob = bearer(issuer.token("alice")), bearer(issuer.token("bob"))
    assert [api.client.get("/tasks", **alice).status_code for _ in range(3)] == [200, 200, 429]
    assert api.client.get("/tasks", **bob).status_code == 200  # the same address, his own count
    # Without a token the address is all there is, and it has not been counted yet.
    assert [api.client.get("/tasks").status_code for _ in range(2)] == [401, 429]


def test_with_the_user_limit_off_signed_in_users_are_counted_by_address(api, issuer, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "1/day"}
    alice = bearer(issuer.token("alice"))
    assert [api.client.get("/tasks", **alice).status_code for _ in range(2)] == [200, 429]


def test_a_401_still_carries_the_bearer_challenge_and_a_write_with_a_bad_token_is_counted(api, issuer, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "2/day"}
    refused = [api.client.post("/tasks", {"title": "t"}, format="json", **bearer("forged")) for _ in range(3)]
    assert [response.status_code for response in refused] == [401, 401, 429]
    assert refused[0]["WWW-Authenticate"] == 'Bearer realm="tasks"'
    assert refused[2].json()["error"]["code"] == "THROTTLED"


def test_concurrent_requests_of_one_caller_never_pass_the_limit(api, issuer, settings):
    """Each instance (here each thread) adds to the same item atomically: 5 a day means 5, reads and writes alike."""
    settings.THROTTLE_RATES = {"user": "5/day", "ip": None}
    alice = bearer(issuer.token("alice"))

    def send(n: int) -> int:
        client = APIClient()
        if n % 2:
            return client.post("/tasks", {"title": f"task {n}"}, format="json", **alice).status_code
        return client.get("/tasks", **alice).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(send, range(12)))

    assert len([status for status in statuses if status in (200, 201)]) == 5, statuses
    assert statuses.count(429) == 7, statuses
    settings.THROTTLE_RATES = {"user": None, "ip": None}
    assert len(api.signed_in(issuer.token("alice")).list().json()["data"]) == statuses.count(201)
