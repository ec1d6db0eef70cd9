"""A stage's API Gateway usage plan (SPEC §6: 1000 rps, burst 2000, 10,000 a day) and its API key.

Zappa creates the REST API, and with `api_key_required` a key named `<stage>_<api id>` bound to
the stage through the key's `stageKeys`; it creates no usage plan. This finds that key (or the
one zappa_settings' `api_key` names), creates it the same way if there is none, so that
`zappa undeploy` still removes it, and keeps a usage plan with the key in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ops.errors import OperationsError
from ops.provisioning.changes import Change, act

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient
    from mypy_boto3_apigateway.type_defs import ApiKeyResponseTypeDef, ApiKeyTypeDef, PatchOperationTypeDef

RATE_LIMIT = 1000  # requests per second, sustained
BURST_LIMIT = 2000
DAILY_QUOTA = 10_000
LIMITS = f"{RATE_LIMIT} rps, burst {BURST_LIMIT}, {DAILY_QUOTA}/day"


@dataclass(frozen=True)
class ApiStage:
    """The REST API (by Zappa's name for it) and stage the plan meters; `key_id` as zappa_settings names it."""

    api_name: str
    stage: str
    key_id: str | None = None

    @property
    def plan_name(self) -> str:
        return f"{self.api_name}-usage-plan"


def ensure_usage_plan(client: APIGatewayClient, api: ApiStage, *, dry_run: bool) -> list[Change]:
    api_id = find_rest_api(client, api)
    if api_id is None:
        detail = f"no REST API {api.api_name} with stage {api.stage} yet: run again after zappa deploy"
        return [Change("usage plan", api.plan_name, "absent", detail)]
    plan_change, plan_id = _ensure_plan(client, api, api_id, dry_run=dry_run)
    return [plan_change, _ensure_key(client, api, api_id, plan_id, dry_run=dry_run)]


def find_rest_api(client: APIGatewayClient, api: ApiStage) -> str | None:
    """The id of the REST API with Zappa's name that has the stage; None before the first deploy."""
    named = [
        rest_api["id"]
        for page in client.get_paginator("get_rest_apis").paginate()
        for rest_api in page.get("items", [])
        if rest_api.get("name") == api.api_name
    ]
    deployed = [
        api_id
        for api_id in named
        if any(stage.get("stageName") == api.stage for stage in client.get_stages(restApiId=api_id).get("item", []))
    ]
    if len(deployed) > 1:
        raise OperationsError(
            f"Several REST APIs named {api.api_name} have a stage {api.stage} ({', '.join(deployed)}): "
            "delete the ones Zappa no longer uses, then run again."
        )
    return deployed[0] if deployed else None


def _ensure_plan(client: APIGatewayClient, api: ApiStage, api_id: str, *, dry_run: bool) -> tuple[Change, str | None]:
    """The plan's change and id (None when a dry run would create it)."""
    plans = [
        plan
        for page in client.get_paginator("get_usage_plans").paginate()
        for plan in page.get("items", [])
        if plan.get("name") == api.plan_name
    ]
    if not plans:
        plan_id = None
        if not dry_run:
            plan_id = client.create_usage_plan(
                name=api.plan_name,
                description=f"SPEC §6 limits for {api.api_name}/{api.stage}",
                apiStages=[{"apiId": api_id, "stage": api.stage}],
                throttle={"rateLimit": float(RATE_LIMIT), "burstLimit": BURST_LIMIT},
                quota={"limit": DAILY_QUOTA, "period": "DAY"},
            )["id"]
        return Change("usage plan", api.plan_name, act("created", dry_run), f"{LIMITS}, stage {api.stage}"), plan_id
    plan = plans[0]
    throttle, quota = plan.get("throttle", {}), plan.get("quota", {})
    patches: list[PatchOperationTypeDef] = []
    if throttle.get("rateLimit") != RATE_LIMIT:
        patches.append({"op": "replace", "path": "/throttle/rateLimit", "value": str(RATE_LIMIT)})
    if throttle.get("burstLimit") != BURST_LIMIT:
        patches.append({"op": "replace", "path": "/throttle/burstLimit", "value": str(BURST_LIMIT)})
    if quota.get("limit") != DAILY_QUOTA:
        patches.append({"op": "replace", "path": "/quota/limit", "value": str(DAILY_QUOTA)})
    if quota.get("period") != "DAY":
        patches.append({"op": "replace", "path": "/quota/period", "value": "DAY"})
    if not any(s.get("apiId") == api_id and s.get("stage") == api.stage for s in plan.get("apiStages", [])):
        patches.append({"op": "add", "path": "/apiStages", "value": f"{api_id}:{api.stage}"})
    if not patches:
        return Change("usage plan", api.plan_name, "unchanged", f"{LIMITS}, stage {api.stage}"), plan["id"]
    if not dry_run:
        client.update_usage_plan(usagePlanId=plan["id"], patchOperations=patches)
    detail = ", ".join(str(patch["path"]).strip("/") for patch in patches)
    return Change("usage plan", api.plan_name, act("updated", dry_run), detail), plan["id"]


def _ensure_key(client: APIGatewayClient, api: ApiStage, api_id: str, plan_id: str | None, *, dry_run: bool) -> Change:
    key = _find_key(client, api, api_id)
    if key is None:
        name = f"{api.stage}_{api_id}"  # Zappa's name for the stage's key: `zappa undeploy` deletes it
        if dry_run:
            return Change("api key", name, act("created", True), "in the usage plan")
        key = client.create_api_key(
            name=name,
            description=f"Api Key for {api_id}",
            enabled=True,
            stageKeys=[{"restApiId": api_id, "stageName": api.stage}],
        )
        _add_to_plan(client, plan_id, key["id"])
        return Change("api key", name, "created", f"id {key['id']}, in the usage plan")
    name = key.get("name") or key["id"]
    in_plan = plan_id is not None and any(
        plan_key["id"] == key["id"]
        for page in client.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan_id)
        for plan_key in page.get("items", [])
    )
    if in_plan:
        return Change("api key", name, "unchanged", f"id {key['id']}, in the usage plan")
    if not dry_run:
        _add_to_plan(client, plan_id, key["id"])
    return Change("api key", name, act("updated", dry_run), f"id {key['id']}, added to the usage plan")


def _find_key(client: APIGatewayClient, api: ApiStage, api_id: str) -> ApiKeyTypeDef | ApiKeyResponseTypeDef | None:
    if api.key_id:
        try:
            return client.get_api_key(apiKey=api.key_id)
        except client.exceptions.NotFoundException:
            raise OperationsError(
                f"zappa_settings.json names api_key {api.key_id} for stage {api.stage}, but there is no such key."
            ) from None
    keys = [key for page in client.get_paginator("get_api_keys").paginate() for key in page.get("items", [])]
    zappa_named = [key for key in keys if key.get("name") == f"{api.stage}_{api_id}"]
    serving = [key for key in keys if _serves(key, api_id, api.stage)]
    return next(iter(zappa_named + serving), None)


def _serves(key: ApiKeyTypeDef, api_id: str, stage: str) -> bool:
    """AWS lists a key's stages as "<api id>/<stage>"; moto echoes the {restApiId, stageName} it was given."""
    for stage_key in key.get("stageKeys", []):
        entry: object = stage_key
        if entry == f"{api_id}/{stage}" or entry == {"restApiId": api_id, "stageName": stage}:
            return True
    return False


def _add_to_plan(client: APIGatewayClient, plan_id: str | None, key_id: str) -> None:
    if plan_id is None:
        raise OperationsError("The usage plan should exist before its key is added.")
    client.create_usage_plan_key(usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
