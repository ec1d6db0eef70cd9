"""Django settings, built from the environment by `config.environment` (SPEC §5)."""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config import local_stack
from config.environment import LOCAL_REGION, ConfigurationError, Environment, load_config
from config.secrets import lazy_secret_key
from tasks_app import tracing
from tasks_app.adapters import metrics

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_STATE_DIR = Path(os.environ.get("LOCAL_STATE_DIR") or BASE_DIR / ".local")
_RUNNING_STACK = (
    local_stack.running_stack(LOCAL_STATE_DIR)
    if os.environ.get("ENVIRONMENT", Environment.DEVELOPMENT) == Environment.DEVELOPMENT
    and "AWS_ENDPOINT_URL" not in os.environ
    else None
)


try:
    CONFIG = load_config(os.environ, running_stack=_RUNNING_STACK)
except ConfigurationError as error:
    raise ImproperlyConfigured(str(error)) from None

if CONFIG.aws_endpoint_url and urlsplit(CONFIG.aws_endpoint_url).hostname in {"127.0.0.1", "localhost"}:
    # The embedded local AWS accepts any credentials; boto3, PynamoDB and kombu still want some.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", CONFIG.aws_region or LOCAL_REGION)
    # Every AWS client names this checkout in its User-Agent, which is how a stack's local AWS
    # tells its own clients from another checkout's (see ops.local.aws_server).
    os.environ.setdefault("AWS_SDK_UA_APP_ID", local_stack.client_id(BASE_DIR))

ENVIRONMENT = CONFIG.environment.value
AUTH_MODE = CONFIG.auth_mode.value
JWT = CONFIG.jwt
THROTTLE_RATES = CONFIG.throttle_rates
# A deployed stage's key is in the SECRETS_S3_URL object, read when first used: see config.secrets.
SECRET_KEY = CONFIG.secret_key if CONFIG.secret_key is not None else lazy_secret_key()
DEBUG = CONFIG.debug
ALLOWED_HOSTS = CONFIG.allowed_hosts

AWS_REGION = CONFIG.aws_region
AWS_ENDPOINT_URL = CONFIG.aws_endpoint_url
AWS_ENDPOINT_SOURCE = CONFIG.aws_endpoint_source
TABLE_NAME = CONFIG.table_name
TOPIC_ARN = CONFIG.topic_arn
EVENTS_QUEUE_URL = CONFIG.events_queue_url
EVENTS_QUEUE_NAME = CONFIG.events_queue_url.rstrip("/").rsplit("/", 1)[-1]
EVENTS_DLQ_URL = CONFIG.events_dlq_url
# The webhooks queue (issue 14): beside the events queue, named after the table, as `provision` makes it.
WEBHOOKS_QUEUE_URL = (
    os.environ.get("WEBHOOKS_QUEUE_URL") or f"{EVENTS_QUEUE_URL.rsplit('/', 1)[0]}/{TABLE_NAME}-webhooks"
)
WEBHOOKS_DLQ_URL = f"{WEBHOOKS_QUEUE_URL}-dlq"
WEBHOOKS_QUEUE_NAME = WEBHOOKS_QUEUE_URL.rstrip("/").rsplit("/", 1)[-1]
# Email through SES (issue 14, item 5): the sender (its address or domain verified in SES:
# `provision` does it locally and for a stage) and the configuration set sends go through.
# Deployed, none unless the stage sets it: a PUT of an address then answers 503 and the log says why.
EMAIL_FROM = os.environ.get("EMAIL_FROM") or ("tasks@example.com" if CONFIG.is_development else "")
SES_CONFIGURATION_SET = os.environ.get("SES_CONFIGURATION_SET") or f"{TABLE_NAME}-email"
EVENTS_VISIBILITY_TIMEOUT = CONFIG.events_visibility_timeout
MAX_REQUEST_BODY_BYTES = CONFIG.max_body_bytes
OUTBOX_SETTLE_SECONDS = 60  # the sweeper leaves younger events to the stream relay, which takes about a second
DATA_UPLOAD_MAX_MEMORY_SIZE = CONFIG.max_body_bytes

INSTALLED_APPS = [
    # Operations (provisioning, the local stack, data dumps): their management commands are there
    # wherever the source tree is, but the Lambda package leaves the package out. First, because
    # its `runserver` (chunked bodies, JSON errors) replaces staticfiles' one, which it extends:
    # of two apps with a command of the same name, Django runs the one listed first.
    *(["ops"] if find_spec("ops") else []),
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "config.apps.ProjectConfig",
    "tasks_app",
    "events_app",
    "notifications_app",
]

MIDDLEWARE = [
    "config.request_metrics.RequestMetricsMiddleware",  # first: the whole request's latency, the status sent
    "config.observability.RequestIdMiddleware",
    "tasks_app.api.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "tasks_app.api.middleware.EnvelopeCorsMiddleware",  # corsheaders, its preflight in the envelope
    "django.middleware.common.CommonMiddleware",  # checks the Host header against ALLOWED_HOSTS
    # Bearer tokens are not sent by browsers on their own, so CSRF cannot forge a request here;
    # the middleware guards whatever view might ever read a cookie.
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.static_files.EnvelopeWhiteNoiseMiddleware",  # WhiteNoise, its 405 in the envelope
    "tasks_app.api.middleware.RateLimitMiddleware",  # last: around the view, waits for its rate-limit count
]

# X-Ray (issue 13; config/tracing.py, tasks_app/tracing.py): only with TRACING=on, so that a
# process without it never loads the SDK; first, so that its segment covers every other middleware.
try:
    TRACING = tracing.enabled(os.environ)
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None
if TRACING:
    MIDDLEWARE.insert(0, "config.tracing.TracingMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False  # the router accepts both forms; a redirect would drop POST bodies

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# No relational database: tasks live in DynamoDB.
DATABASES: dict[str, dict[str, str]] = {}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Relative, so each page's asset URLs carry the prefix its request came through: `/staging/`
# on the raw execute-api URL (Zappa sets SCRIPT_NAME), nothing on a custom domain.
STATIC_URL = "static/"
# Where WhiteNoise finds them: API Gateway strips the stage from the path before Django sees it.
WHITENOISE_STATIC_PREFIX = "/static/"
STORAGES = {
    "staticfiles": {
        "BACKEND": "config.static_files.PrefixFollowingStaticFilesStorage",
        "OPTIONS": {"relative_url": STATIC_URL},
    }
}
STATIC_ROOT = BASE_DIR / "staticfiles"
# Development serves straight from the apps' static folders; deployed stages serve what
# `collectstatic` gathered into STATIC_ROOT, indexed once at start-up.
WHITENOISE_USE_FINDERS = CONFIG.is_development
WHITENOISE_AUTOREFRESH = CONFIG.is_development

REST_FRAMEWORK = {
    # Django's defaults use the auth database, which this project does not have.
    "DEFAULT_AUTHENTICATION_CLASSES": ["tasks_app.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tasks_app.api.auth.AuthModePermission"],
    # One count per request, by user or by address; RateLimitMiddleware settles it (and counts 401s).
    "DEFAULT_THROTTLE_CLASSES": ["tasks_app.api.throttling.RequestRateThrottle"],
    "UNAUTHENTICATED_USER": None,
    # JSON for everyone; form bodies only from the browsable API's own HTML forms (a 415 otherwise).
    "DEFAULT_PARSER_CLASSES": [
        "tasks_app.api.parsers.SafeJSONParser",
        "tasks_app.api.parsers.BrowserMultiPartParser",
        "tasks_app.api.parsers.BrowserUrlEncodedParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "tasks_app.api.renderers.TaskBrowsableAPIRenderer",
    ],
    "DEFAULT_METADATA_CLASS": "tasks_app.api.metadata.EnvelopeMetadata",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tasks_app.api.negotiation.JsonFallbackNegotiation",
    "EXCEPTION_HANDLER": "tasks_app.api.errors.exception_handler",
    # drf-spectacular's AutoSchema, only once a schema is generated (a tenth of a second of cold start).
    "DEFAULT_SCHEMA_CLASS": "tasks_app.api.openapi.DeferredAutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Task Management API",
    "DESCRIPTION": (
        "Create, list and complete tasks. Every response is a JSON envelope: "
        '`{"success": true, "data": ...}` or `{"success": false, "error": {...}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # With the extensions, loaded only to generate a schema: see DeferredAutoSchema.
    "DEFAULT_GENERATOR_CLASS": "tasks_app.api.schema_generation.SchemaGenerator",
    # API clients send JSON; the browsable API's form parsers are for its own pages only.
    "PARSER_WHITELIST": ["tasks_app.api.parsers.SafeJSONParser"],
    "AUTHENTICATION_WHITELIST": ["tasks_app.api.auth.BearerTokenAuthentication"],
    # The docs are public: never turned away for a token (or a key outage), so no authentication;
    # DRF's throttle still counts them, by address.
    "SERVE_AUTHENTICATION": [],
    "PREPROCESSING_HOOKS": ["tasks_app.api.openapi.without_trailing_slash"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tasks_app.api.openapi.security_follows_auth_mode",
        "tasks_app.api.openapi.query_parameters_as_served",
        "tasks_app.api.openapi.examples_follow_auth_mode",
        "tasks_app.api.openapi.links_between_operations",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ErrorCode": "tasks_app.api.errors.ErrorCode",
        "TaskStatus": "tasks_app.domain.values.TaskStatus",
    },
}

# Hardening. Outside development, API Gateway terminates TLS and says so in X-Forwarded-Proto.
CORS_ALLOWED_ORIGINS = CONFIG.cors_allowed_origins
CORS_ALLOW_HEADERS = ["authorization", "content-type", "x-request-id"]
CORS_EXPOSE_HEADERS = ["x-request-id", "location", "retry-after"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not CONFIG.is_development:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Celery: a worker on the SQS events queue (config/celery.py). SQS has no result backend and no
# broadcast, so results are off and so is remote control.
CELERY_BROKER_URL = f"sqs://@{urlsplit(CONFIG.aws_endpoint_url).netloc}" if CONFIG.aws_endpoint_url else "sqs://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "region": CONFIG.aws_region,
    # The queue's own visibility timeout applies: `provision` sets it (EVENTS_VISIBILITY_TIMEOUT).
    "predefined_queues": {
        EVENTS_QUEUE_NAME: {"url": EVENTS_QUEUE_URL},
        WEBHOOKS_QUEUE_NAME: {"url": WEBHOOKS_QUEUE_URL},
    },
    # Short long-polls locally: a stopped worker's open poll can hide a message until it ends.
    "wait_time_seconds": 1 if CONFIG.is_development else 10,
    "polling_interval": 0.2 if CONFIG.is_development else 1,
    # The attributes the relay sends with each event (SPEC §9), which the worker logs under; kombu
    # asks SQS only for the receive count otherwise.
    "fetch_message_attributes": {"MessageAttributeNames": ["request_id", "trace_header"]},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "celery-tasks-unused"  # never consumed: see config/celery.py
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_POOL = "solo"  # events are applied in the consumer itself, one at a time
CELERY_WORKER_PREFETCH_MULTIPLIER = 10  # receive up to ten messages per SQS call
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the JSON logs

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.observability.RequestIdFilter"},
        "answered_outage": {"()": "config.observability.AnsweredOutageFilter"},
        "outage_access_line": {"()": "config.observability.OutageAccessLineFilter"},
        "secret_query": {"()": "config.observability.SecretQueryFilter"},
    },
    "formatters": {"json": {"()": "config.observability.JsonFormatter"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["stdout"], "level": CONFIG.log_level},
    "loggers": {
        # boto's own debug output would drown the application's at LOG_LEVEL=DEBUG.
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "pynamodb": {"level": "WARNING"},
        # runserver's access log: JSON like the rest (Django gives it a plain-text handler).
        "django.server": {
            "handlers": ["stdout"],
            "level": "INFO",
            "propagate": False,
            "filters": ["outage_access_line", "secret_query"],
        },
        "django.request": {"filters": ["answered_outage"]},
        # Zappa's access line (INFO, one per request on Lambda) says what each request's metrics
        # line already does (config/request_metrics.py: method, path, status, address, latency,
        # request id), and writing it took a tenth of a warm request's time outside DynamoDB
        # (issue 12). It stays when metrics are off, the only access log then.
        "zappa.wsgi": {"level": "WARNING" if metrics.enabled() else "NOTSET"},
    },
}


def _commands_log_file() -> str | None:
    """Where a management command run by hand beside `make run` (`relay_outbox`, `complete_task`…)
    writes its lines, so that `request_trail` finds what it did too: `logs/commands.jsonl` of the
    local stack, in development, once `make run` has made that directory (never made here)."""
    directory = LOCAL_STATE_DIR / "logs"
    running_a_command = Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] != ["request_trail"]
    if CONFIG.is_development and running_a_command and directory.is_dir():
        return str(directory / "commands.jsonl")
    return None


if LOG_FILE := os.environ.get("LOG_FILE") or _commands_log_file():
    # The local stack's processes also write their lines to a file each, which `manage.py
    # request_trail` reads (ops/local/supervisor.py names them). Rotated at 10 MB, 3 kept.
    LOGGING["handlers"]["file"] = {
        "class": "logging.handlers.RotatingFileHandler",
        "filename": LOG_FILE,
        "maxBytes": 10_000_000,
        "backupCount": 3,
        "encoding": "utf-8",
        "formatter": "json",
        "filters": ["request_id"],
    }
    for _logger in (LOGGING["root"], LOGGING["loggers"]["django.server"]):
        _logger["handlers"] = [*_logger["handlers"], "file"]
