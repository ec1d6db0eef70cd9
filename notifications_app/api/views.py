"""The webhooks ViewSet: each action turns HTTP into one service call and back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from notifications_app import bootstrap
from notifications_app.api import schema
from notifications_app.api.serializers import (
    DeliveryListQuery,
    DeliveryResponse,
    NoBody,
    WebhookCreateRequest,
    WebhookListQuery,
    WebhookResponse,
    WebhookUpdateRequest,
    WebhookWithSecretResponse,
)
from notifications_app.application import delivery_log, endpoints
from notifications_app.application.ports import EndpointChanges
from notifications_app.domain.endpoint import WebhookEndpoint
from tasks_app import bootstrap as tasks_wiring
from tasks_app.api.auth import caller_of
from tasks_app.api.idempotency import claim_for, run_with_key
from tasks_app.application.idempotency import RecordedResponse


def webhook_envelope(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict[str, Any]:
    """The success envelope around one endpoint; its secret only when `with_secret`."""
    shape = WebhookWithSecretResponse if with_secret else WebhookResponse
    return {"success": True, "data": shape(endpoint).data}


def _location(request: Request, endpoint: WebhookEndpoint) -> str:
    """The registered endpoint's URL (`Location` of a 201)."""
    return request.build_absolute_uri(f"{request.path.rstrip('/')}/{endpoint.webhook_id}")


def _first_response(
    request: Request, *, status_code: int = 200, with_secret: bool = False
) -> Callable[[WebhookEndpoint], RecordedResponse]:
    """How a request with an `Idempotency-Key` answers (SPEC §2): the envelope around the endpoint
    its change makes, rendered once, stored with the change and replayed byte for byte to a
    repeat; a registration's (201) carries `Location`."""

    def respond(endpoint: WebhookEndpoint) -> RecordedResponse:
        headers = {"Location": _location(request, endpoint)} if status_code == status.HTTP_201_CREATED else {}
        body = JSONRenderer().render(webhook_envelope(endpoint, with_secret=with_secret)).decode()
        return RecordedResponse(status=status_code, body=body, headers=headers)

    return respond


class WebhookViewSet(viewsets.ViewSet):
    """Webhook endpoints: register, list, read, change and delete; their deliveries, redeliveries,
    secret rotation and test pings (issue 14)."""

    lookup_field = "webhook_id"
    lookup_value_regex = "[^/]+"

    @schema.create
    def create(self, request: Request) -> Response | HttpResponse:
        caller = caller_of(request)
        payload = WebhookCreateRequest(data=request.data)
        payload.is_valid(raise_exception=True)
        given = payload.validated_data
        claim = claim_for(request, caller, _first_response(request, status_code=201, with_secret=True))
        outcome = run_with_key(
            claim,
            lambda claim: endpoints.webhook_create(
                user_id=given.get("user_id"),
                url=given["url"],
                event_types=given["event_types"],
                description=given["description"],
                caller=caller,
                repository=bootstrap.endpoint_repository(),
                url_check=bootstrap.url_check(),
                now=tasks_wiring.utc_now(),
                idempotency=claim,
            ),
        )
        if isinstance(outcome, HttpResponse):  # answered through an Idempotency-Key
            return outcome
        return Response(
            webhook_envelope(outcome, with_secret=True),
            status=status.HTTP_201_CREATED,
            headers={"Location": _location(request, outcome)},
        )

    @schema.list_
    def list(self, request: Request) -> Response:
        query = WebhookListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        page = endpoints.webhook_list(
            user_id=given.get("user_id"),
            limit=given["limit"],
            cursor=given.get("cursor"),
            caller=caller_of(request),
            repository=bootstrap.endpoint_repository(),
        )
        return Response(
            {
                "success": True,
                "data": WebhookResponse(page.items, many=True).data,
                "pagination": {"next_cursor": page.next_cursor, "limit": given["limit"]},
            }
        )

    @schema.retrieve
    def retrieve(self, request: Request, webhook_id: str) -> Response:
        endpoint = endpoints.webhook_get(
            webhook_id=webhook_id, caller=caller_of(request), repository=bootstrap.endpoint_repository()
        )
        return Response(webhook_envelope(endpoint))

    @schema.partial_update
    def partial_update(self, request: Request, webhook_id: str) -> Response | HttpResponse:
        caller = caller_of(request)
        payload = WebhookUpdateRequest(data=request.data)
        payload.is_valid(raise_exception=True)
        given = payload.validated_data
        outcome = run_with_key(
            claim_for(request, caller, _first_response(request)),
            lambda claim: endpoints.webhook_update(
                webhook_id=webhook_id,
                changes=EndpointChanges(
                    url=given.get("url"),
                    event_types=given.get("event_types"),
                    description=given.get("description"),
                    enabled=given.get("enabled"),
                ),
                caller=caller,
                repository=bootstrap.endpoint_repository(),
                url_check=bootstrap.url_check(),
                now=tasks_wiring.utc_now(),
                idempotency=claim,
            ),
        )
        return outcome if isinstance(outcome, HttpResponse) else Response(webhook_envelope(outcome))

    @schema.destroy
    def destroy(self, request: Request, webhook_id: str) -> Response:
        endpoints.webhook_delete(
            webhook_id=webhook_id, caller=caller_of(request), repository=bootstrap.endpoint_repository()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @schema.deliveries
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, webhook_id: str) -> Response:
        query = DeliveryListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = query.validated_data
        page = delivery_log.delivery_list(
            webhook_id=webhook_id,
            limit=given["limit"],
            cursor=given.get("cursor"),
            caller=caller_of(request),
            endpoints=bootstrap.endpoint_repository(),
            deliveries=bootstrap.delivery_repository(),
        )
        return Response(
            {
                "success": True,
                "data": DeliveryResponse(page.items, many=True).data,
                "pagination": {"next_cursor": page.next_cursor, "limit": given["limit"]},
            }
        )

    @schema.redeliver
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[^/]+)/redeliver")
    def redeliver(self, request: Request, webhook_id: str, delivery_id: str) -> Response:
        delivery = delivery_log.delivery_redeliver(
            webhook_id=webhook_id,
            delivery_id=delivery_id,
            caller=caller_of(request),
            endpoints=bootstrap.endpoint_repository(),
            deliveries=bootstrap.delivery_repository(),
            queue=bootstrap.delivery_queue(),
            now=tasks_wiring.utc_now(),
        )
        return Response({"success": True, "data": DeliveryResponse(delivery).data}, status=status.HTTP_202_ACCEPTED)

    @schema.rotate_secret
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, webhook_id: str) -> Response | HttpResponse:
        caller = caller_of(request)
        NoBody(data=request.data).is_valid(raise_exception=True)
        outcome = run_with_key(
            claim_for(request, caller, _first_response(request, with_secret=True)),
            lambda claim: endpoints.webhook_rotate_secret(
                webhook_id=webhook_id,
                caller=caller,
                repository=bootstrap.endpoint_repository(),
                now=tasks_wiring.utc_now(),
                idempotency=claim,
            ),
        )
        return outcome if isinstance(outcome, HttpResponse) else Response(webhook_envelope(outcome, with_secret=True))

    @schema.test
    @action(detail=True, methods=["post"])
    def test(self, request: Request, webhook_id: str) -> Response:
        NoBody(data=request.data).is_valid(raise_exception=True)
        delivery = delivery_log.webhook_ping(
            webhook_id=webhook_id,
            caller=caller_of(request),
            endpoints=bootstrap.endpoint_repository(),
            deliveries=bootstrap.delivery_repository(),
            queue=bootstrap.delivery_queue(),
            now=tasks_wiring.utc_now(),
        )
        return Response({"success": True, "data": DeliveryResponse(delivery).data}, status=status.HTTP_202_ACCEPTED)
