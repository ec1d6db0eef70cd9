"""One stage of zappa_settings.json, read the way Zappa reads it, as `provision --stage` needs it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.environment import SECRETS_URL_VARIABLE
from ops.errors import OperationsError
from ops.provisioning.resources import Resources

DEFAULT_VISIBILITY_TIMEOUT = 300  # SPEC §4: five minutes, as the deployed settings default it
_REQUIRED_VARIABLES = ("TABLE_NAME", "TOPIC_ARN", "EVENTS_QUEUE_URL")
# The handlers whose triggers `provision --stage` owns (ops/provisioning/event_sources.py, schedule.py)
PROVISIONED_HANDLERS = (
    "config.lambda_handlers.consume_events",
    "config.lambda_handlers.relay_outbox",
    "config.lambda_handlers.relay_stream",
    "config.lambda_handlers.sweep_reminders",
)


@dataclass(frozen=True)
class ZappaStage:
    """What provisioning needs from a stage: Zappa's names for its function and API, and its resources."""

    name: str
    function_name: str  # Zappa names the Lambda function and the REST API both `<project_name>-<stage>`
    region: str
    environment: Mapping[str, str]
    api_key_required: bool
    api_key_id: str | None  # Zappa's `api_key`: an existing key it attaches instead of creating one
    snap_start: bool = False  # Zappa then keeps the `snapstart` alias on the newest published version
    # `events` entries naming a handler in PROVISIONED_HANDLERS: Zappa would point them at $LATEST
    zappa_triggers: tuple[str, ...] = ()
    role_arn: str | None = None  # with manage_roles off, the execution role provisioning makes
    manage_roles: bool = True  # Zappa's own role, with its broad default policy
    # Zappa's `remote_env`, which the function no longer reads (its secrets come from SECRETS_S3_URL)
    remote_env: str | None = None
    s3_bucket: str | None = None  # where Zappa uploads the package
    xray_tracing: bool = False

    @property
    def api_name(self) -> str:
        return self.function_name

    @property
    def secrets_url(self) -> str | None:
        """The S3 object (`s3://bucket/key`) the function reads its secrets from at start-up, if any."""
        return self.environment.get(SECRETS_URL_VARIABLE) or None

    def resources(self) -> Resources:
        missing = [name for name in _REQUIRED_VARIABLES if not self.environment.get(name)]
        if missing:
            raise OperationsError(
                f"Stage {self.name} sets no {', '.join(missing)} in zappa_settings.json "
                "(environment_variables or aws_environment_variables)."
            )
        timeout = self.environment.get("EVENTS_VISIBILITY_TIMEOUT") or str(DEFAULT_VISIBILITY_TIMEOUT)
        if not timeout.isdigit():
            raise OperationsError(f"Stage {self.name}: EVENTS_VISIBILITY_TIMEOUT={timeout!r} is not a number.")
        return Resources(
            table_name=self.environment["TABLE_NAME"],
            topic_arn=self.environment["TOPIC_ARN"],
            queue_url=self.environment["EVENTS_QUEUE_URL"],
            visibility_timeout=int(timeout),
            point_in_time_recovery=True,  # every Zappa stage is deployed: its data is worth recovering
        )


def load_stage(path: Path, stage: str) -> ZappaStage:
    config = stage_settings(path, stage)
    project = config.get("project_name")
    if not project:
        raise OperationsError(f"Stage {stage} in {path} has no project_name: Zappa names the function after it.")
    region = config.get("aws_region")
    if not region:
        raise OperationsError(f"Stage {stage} in {path} has no aws_region.")
    events = config.get("events") or []
    return ZappaStage(
        name=stage,
        function_name=zappa_slug(f"{project}-{stage}"),
        region=str(region),
        environment=_environment(config),
        api_key_required=bool(config.get("api_key_required", False)),
        api_key_id=config.get("api_key") or None,
        snap_start=str(config.get("snap_start") or "None") != "None",
        zappa_triggers=tuple(
            str(event.get("function")) for event in events if event.get("function") in PROVISIONED_HANDLERS
        ),
        role_arn=config.get("role_arn") or None,
        manage_roles=bool(config.get("manage_roles", True)),
        remote_env=config.get("remote_env") or None,
        s3_bucket=config.get("s3_bucket") or None,
        xray_tracing=bool(config.get("xray_tracing", False)),
    )


def stage_settings(path: Path, stage: str) -> dict[str, Any]:
    """The stage's settings with its `extends` chain applied (a shallow merge, as Zappa does)."""
    stages = _read(path)
    if stage not in stages:
        raise OperationsError(f"{path} has no stage {stage!r}; its stages are: {', '.join(sorted(stages)) or 'none'}.")
    merged = _merged(stages, stage, seen=())
    merged.pop("extends", None)
    return merged


def zappa_slug(text: str) -> str:
    """Zappa slugifies `<project_name>-<stage>` into the function's name (python-slugify's defaults)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")


def _environment(config: Mapping[str, Any]) -> dict[str, str]:
    """The Lambda's variables, then the package's: Zappa's handler sets `environment_variables` at
    start-up, over what the function was configured with. (The secrets object SECRETS_S3_URL
    names lives in S3: not read.)"""
    variables = {**(config.get("aws_environment_variables") or {}), **(config.get("environment_variables") or {})}
    return {str(name): str(value) for name, value in variables.items()}


def _read(path: Path) -> dict[str, Any]:
    try:
        stages = json.loads(path.read_text())
    except FileNotFoundError:
        raise OperationsError(f"{path} does not exist: pass --settings-file with the Zappa settings.") from None
    except ValueError as error:
        raise OperationsError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(stages, dict) or not all(isinstance(value, dict) for value in stages.values()):
        raise OperationsError(f"{path} should map each stage name to its settings.")
    return stages


def _merged(stages: dict[str, Any], stage: str, *, seen: tuple[str, ...]) -> dict[str, Any]:
    if stage in seen:
        raise OperationsError(f"zappa_settings.json: stages {' -> '.join((*seen, stage))} extend in a circle.")
    if stage not in stages:
        raise OperationsError(f"zappa_settings.json: stage {seen[-1]} extends {stage!r}, which does not exist.")
    config = dict(stages[stage])
    base = config.get("extends")
    return {**_merged(stages, base, seen=(*seen, stage)), **config} if base else config
