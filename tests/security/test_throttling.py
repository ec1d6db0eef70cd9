"""Rate limits shared through DynamoDB: per caller and per client IP, 429 with Retry-After."""

from __future__ import annotations

from rest_framework.test import APIClient

from tests.tokens import bearer


def test_a_caller_over_their_rate_gets_429_with_retry_after(api, issuer, settings):
    settings.THROTTLE_RATES = {"user": "3/min", "ip": None}
    alice, bob = bearer(issuer.token("alice")), bearer(issuer.token("bob"))
    statuses = [api.client.get("/tasks", **alice).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = api.client.get("/tasks", **alice)
    assert throttled.json()["error"]["code"] == "THROTTLED"
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert api.client.get("/tasks", **bob).status_code == 200  # bob has his own count


def test_the_count_is_shared_by_every_client_of_the_same_caller(api, issuer, settings):
    """Two API instances count in the same DynamoDB item, as separate clients do here."""
    settings.THROTTLE_RATES = {"user": "4/min", "ip": None}
    alice = bearer(issuer.token("alice"))
    first, second = APIClient(), APIClient()
    assert [first.get("/tasks", **alice).status_code for _ in range(2)] == [200, 200]
    assert [second.get("/tasks", **alice).status_code for _ in range(3)] == [200, 200, 429]


def test_a_client_address_over_its_rate_is_throttled_whoever_it_claims_to_be(api, settings):
    settings.THROTTLE_RATES = {"user": None, "ip": "2/min"}
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
    assert counter["Hits"] == {"N": "1"}
