"""Configuration from environment variables (SPEC §5), checked before Django starts.

Development runs with no setup: every AWS setting defaults to the embedded local AWS that
`make run` starts. Staging and production default nothing that could point at the wrong
resources; a missing variable stops start-up with a message that names it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from config.local_stack import StackEndpoints

LOCAL_ACCOUNT = "123456789012"  # moto's account id
LOCAL_REGION = "us-east-1"
LOCAL_AWS_PORT = 4566
LOCAL_API_PORT = 8000
LOCAL_RESOURCE_NAME = "tasks"
DEVELOPMENT_SECRET_KEY = "development-only-not-secret"  # noqa: S105 - refused outside development


class ConfigurationError(Exception):
    """The environment cannot run the API; the message says which variable to set."""


class Environment(StrEnum):
    """Where the API runs; only development has defaults for AWS resources."""

    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class AuthMode(StrEnum):
    """How callers are identified: bearer JWTs, or not at all (development only)."""

    JWT = "jwt"
    NONE = "none"


# Names the S3 object (`s3://bucket/key`) holding a deployed stage's secret key, a JSON object
# `{"DJANGO_SECRET_KEY": "..."}` kept out of git, which `config.secrets` reads on first use.
SECRETS_URL_VARIABLE = "SECRETS_S3_URL"
SECRET_KEY_VARIABLE = "DJANGO_SECRET_KEY"  # noqa: S105 - the variable's name, not a secret

LOCAL_ISSUER = "tasks-local-issuer"
LOCAL_AUDIENCE = "tasks-local"
_RATE = re.compile(r"(?P<count>[1-9][0-9]*)/(?P<unit>s|sec|second|m|min|minute|h|hour|d|day)")


@dataclass(frozen=True)
class JwtConfig:
    """Whose tokens to trust: a Cognito user pool's (by its JWKS URL), or, in development
    without one, the local signing key that `issue_token` uses (`jwks_url` None)."""

    issuer: str
    audience: str
    token_use: str
    jwks_url: str | None
    leeway_seconds: int


@dataclass(frozen=True)
class Config:
    """Everything the environment decides, checked and typed; settings.py reads only this."""

    environment: Environment
    auth_mode: AuthMode
    secret_key: str | None  # None: in the SECRETS_S3_URL object, read on first use (config.secrets)
    debug: bool
    log_level: str
    aws_region: str
    aws_endpoint_url: str | None
    aws_endpoint_source: str  # where aws_endpoint_url came from, for messages: a variable or the running stack
    table_name: str
    topic_arn: str
    events_queue_url: str
    events_dlq_url: str
    events_visibility_timeout: int
    allowed_hosts: list[str]
    max_body_bytes: int
    jwt: JwtConfig | None
    throttle_rates: dict[str, str | None]
    cors_allowed_origins: list[str]

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT


def load_config(env: Mapping[str, str], *, running_stack: StackEndpoints | None = None) -> Config:
    """The configuration `env` describes; raises ConfigurationError naming the variable that is wrong.

    In development without `AWS_ENDPOINT_URL`, `running_stack` (the stack `make run` started on
    the state directory, if any) gives the local AWS's endpoint; else its default port.
    """
    environment = _choice(env, "ENVIRONMENT", Environment, Environment.DEVELOPMENT)
    if environment is Environment.DEVELOPMENT:
        if env.get("AWS_LAMBDA_FUNCTION_NAME"):
            # A forgotten ENVIRONMENT must not deploy development's defaults: no auth, a known key.
            raise ConfigurationError(
                "ENVIRONMENT is development (or unset) on AWS Lambda; set ENVIRONMENT=staging or production."
            )
        return _development(env, running_stack)
    return _deployed(env, environment)


def secrets_object(env: Mapping[str, str]) -> tuple[str, str] | None:
    """The bucket and key `SECRETS_S3_URL` names (`s3://bucket/key`), or None when it is unset.

    Raises ConfigurationError when it is set but not such a URL.
    """
    url = env.get(SECRETS_URL_VARIABLE, "").strip()
    if not url:
        return None
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not bucket or not key:
        raise ConfigurationError(f"{SECRETS_URL_VARIABLE}={url!r} is not an S3 object URL like s3://bucket/key.json.")
    return bucket, key


def parse_secrets(content: bytes, *, source: str) -> dict[str, str]:
    """The variables a secrets object holds: `content` is a flat JSON object of strings (what
    Zappa's `remote_env` read), `source` names the object in messages. Raises ConfigurationError
    for anything else, so a mistyped object is refused instead of used without the key."""
    try:
        variables = json.loads(content)
    except ValueError as error:
        raise ConfigurationError(f"{source} is not JSON: {error}") from None
    if not isinstance(variables, dict) or not all(isinstance(value, str) for value in variables.values()):
        raise ConfigurationError(f'{source} must be a JSON object of strings, like {{"DJANGO_SECRET_KEY": "..."}}.')
    return variables


def checked_secret_key(value: str, *, source: str) -> str:
    """`value`, the secret key `source` gives (a variable or an object), if it is long and random
    enough for signing: at least 50 characters, at least 5 distinct (Django's own deploy check,
    security.W009). Raises ConfigurationError otherwise."""
    if len(value) < 50 or len(set(value)) < 5:
        raise ConfigurationError(
            f"{SECRET_KEY_VARIABLE} ({source}) must be at least 50 random characters; "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))' makes one."
        )
    return value


def local_aws_port(env: Mapping[str, str]) -> int:
    return _integer(env, "LOCAL_AWS_PORT", LOCAL_AWS_PORT, minimum=1, maximum=65535)


def local_api_port(env: Mapping[str, str]) -> int:
    return _integer(env, "LOCAL_API_PORT", LOCAL_API_PORT, minimum=1, maximum=65535)


def _development(env: Mapping[str, str], stack: StackEndpoints | None) -> Config:
    if "AWS_ENDPOINT_URL" in env:
        endpoint, source = env["AWS_ENDPOINT_URL"] or None, "set by AWS_ENDPOINT_URL"
    elif stack is not None:
        endpoint, source = stack.aws_url, f"the local stack running from {stack.state_dir}: {stack.describe()}"
    else:
        endpoint = f"http://127.0.0.1:{local_aws_port(env)}"
        port_from = "LOCAL_AWS_PORT" if "LOCAL_AWS_PORT" in env else "the default port"
        source = f"{port_from}: no local stack is running from the state directory"
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or LOCAL_REGION
    queue_base = endpoint or f"https://sqs.{region}.amazonaws.com"
    queue_url = env.get("EVENTS_QUEUE_URL") or f"{queue_base}/{LOCAL_ACCOUNT}/{LOCAL_RESOURCE_NAME}-events"
    auth_mode = _choice(env, "AUTH_MODE", AuthMode, AuthMode.NONE)
    return Config(
        environment=Environment.DEVELOPMENT,
        auth_mode=auth_mode,
        secret_key=None if secrets_object(env) else env.get(SECRET_KEY_VARIABLE) or DEVELOPMENT_SECRET_KEY,
        debug=_boolean(env, "DJANGO_DEBUG", default=False),
        log_level=_log_level(env),
        aws_region=region,
        aws_endpoint_url=endpoint,
        aws_endpoint_source=source,
        table_name=env.get("TABLE_NAME") or LOCAL_RESOURCE_NAME,
        topic_arn=env.get("TOPIC_ARN") or f"arn:aws:sns:{region}:{LOCAL_ACCOUNT}:{LOCAL_RESOURCE_NAME}-events",
        events_queue_url=queue_url,
        events_dlq_url=env.get("EVENTS_DLQ_URL") or f"{queue_url}-dlq",
        # Short, so a failed event is seen being retried within seconds.
        events_visibility_timeout=_visibility_timeout(env, default=10),
        allowed_hosts=_list(env, "ALLOWED_HOSTS") or ["127.0.0.1", "localhost", "[::1]", "testserver"],
        max_body_bytes=_max_body_bytes(env),
        jwt=_jwt(env, Environment.DEVELOPMENT) if auth_mode is AuthMode.JWT else None,
        throttle_rates=_throttle_rates(env),
        cors_allowed_origins=_origins(env, https_only=False),
    )


def _deployed(env: Mapping[str, str], environment: Environment) -> Config:
    auth_mode = _choice(env, "AUTH_MODE", AuthMode, AuthMode.JWT)
    if auth_mode is AuthMode.NONE:
        raise ConfigurationError(
            f"AUTH_MODE=none is refused when ENVIRONMENT={environment}: anyone could read every task. "
            "Use AUTH_MODE=jwt."
        )
    if _boolean(env, "DJANGO_DEBUG", default=False):
        raise ConfigurationError(f"DJANGO_DEBUG must be off when ENVIRONMENT={environment}.")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigurationError(f"AWS_REGION is required when ENVIRONMENT={environment}.")
    queue_url = _required(env, "EVENTS_QUEUE_URL", environment)
    # With a secrets object, the key is the object's, read on first use (config.secrets), over
    # any DJANGO_SECRET_KEY of the function's, as Zappa's remote_env had it.
    secret_key = (
        None
        if secrets_object(env)
        else checked_secret_key(_required(env, SECRET_KEY_VARIABLE, environment), source="the variable")
    )
    return Config(
        environment=environment,
        auth_mode=auth_mode,
        secret_key=secret_key,
        debug=False,
        log_level=_log_level(env),
        aws_region=region,
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        aws_endpoint_source="set by AWS_ENDPOINT_URL",
        table_name=_required(env, "TABLE_NAME", environment),
        topic_arn=_required(env, "TOPIC_ARN", environment),
        events_queue_url=queue_url,
        events_dlq_url=env.get("EVENTS_DLQ_URL") or f"{queue_url}-dlq",
        events_visibility_timeout=_visibility_timeout(env, default=300),
        # The stage's API Gateway hosts and the custom domain, if any; nothing else.
        allowed_hosts=_list(env, "ALLOWED_HOSTS")
        or [f".execute-api.{region}.amazonaws.com", *_list(env, "API_DOMAIN")],
        max_body_bytes=_max_body_bytes(env),
        jwt=_jwt(env, environment),
        throttle_rates=_throttle_rates(env),
        cors_allowed_origins=_origins(env, https_only=True),
    )


def _jwt(env: Mapping[str, str], environment: Environment) -> JwtConfig:
    token_use = env.get("JWT_TOKEN_USE", "access").strip().lower() or "access"
    if token_use not in {"access", "id"}:
        raise ConfigurationError(f"JWT_TOKEN_USE={token_use!r} is not one of: access, id.")
    leeway = _integer(env, "JWT_LEEWAY_SECONDS", 10, minimum=0, maximum=60)
    issuer = env.get("JWT_ISSUER", "").strip().rstrip("/")
    if not issuer and environment is Environment.DEVELOPMENT:
        return JwtConfig(LOCAL_ISSUER, LOCAL_AUDIENCE, "access", None, leeway)
    issuer = issuer or _required(env, "JWT_ISSUER", environment)
    jwks_url = env.get("JWT_JWKS_URL", "").strip() or f"{issuer}/.well-known/jwks.json"
    if environment is not Environment.DEVELOPMENT:
        # Keys fetched over plain HTTP could be swapped on the way, and every token with them.
        _require_https("JWT_ISSUER", issuer)
        _require_https("JWT_JWKS_URL", jwks_url)
    return JwtConfig(
        issuer=issuer,
        audience=_required(env, "JWT_AUDIENCE", environment),
        token_use=token_use,
        jwks_url=jwks_url,
        leeway_seconds=leeway,
    )


def _require_https(name: str, url: str) -> None:
    if not url.lower().startswith("https://"):
        raise ConfigurationError(f"{name}={url!r} must be an https:// URL outside development.")


def _throttle_rates(env: Mapping[str, str]) -> dict[str, str | None]:
    """Requests allowed per caller and per client IP, like `600/min`; `off` lifts a limit."""
    rates: dict[str, str | None] = {}
    for scope, name, default in (("user", "THROTTLE_USER_RATE", "600/min"), ("ip", "THROTTLE_IP_RATE", "1200/min")):
        raw = env.get(name, "").strip().lower() or default
        if raw == "off":
            rates[scope] = None
        elif _RATE.fullmatch(raw):
            rates[scope] = raw
        else:
            raise ConfigurationError(f"{name}={raw!r} is not a rate like 600/min (or off).")
    return rates


def _origins(env: Mapping[str, str], *, https_only: bool) -> list[str]:
    origins = _list(env, "CORS_ALLOWED_ORIGINS")
    pattern = r"https://[^/\s]+" if https_only else r"https?://[^/\s]+"
    for origin in origins:
        if not re.fullmatch(pattern, origin):
            raise ConfigurationError(f"CORS_ALLOWED_ORIGINS: {origin!r} is not an origin like https://app.example.com.")
    return origins


def _required(env: Mapping[str, str], name: str, environment: Environment) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is required when ENVIRONMENT={environment}.")
    return value


def _choice[E: StrEnum](env: Mapping[str, str], name: str, kind: type[E], default: E) -> E:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ConfigurationError(f"{name}={raw!r} is not one of: {allowed}.") from None


def _boolean(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name}={raw!r} is not a boolean (use true or false).")


def _integer(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number.") from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"{name}={value} is outside {minimum}..{maximum}.")
    return value


def _list(env: Mapping[str, str], name: str) -> list[str]:
    return [part.strip() for part in env.get(name, "").split(",") if part.strip()]


def _log_level(env: Mapping[str, str]) -> str:
    level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigurationError(f"LOG_LEVEL={level!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL.")
    return level


def _max_body_bytes(env: Mapping[str, str]) -> int:
    return _integer(env, "MAX_REQUEST_BODY_BYTES", 64 * 1024, minimum=1024, maximum=10 * 1024 * 1024)


def _visibility_timeout(env: Mapping[str, str], *, default: int) -> int:
    """Seconds a received event stays hidden before it is delivered again (SPEC: 5 minutes)."""
    return _integer(env, "EVENTS_VISIBILITY_TIMEOUT", default, minimum=0, maximum=12 * 3600)
