"""Configuration from the environment: development just works, deployed stages fail fast."""

import pytest

from config.environment import AuthMode, ConfigurationError, Environment, load_config, parse_secrets, secrets_object

DEPLOYED = {
    "ENVIRONMENT": "staging",
    "AUTH_MODE": "jwt",
    "DJANGO_SECRET_KEY": "a-long-random-secret-for-the-tests-0123456789abcdefghij",
    "JWT_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    "JWT_AUDIENCE": "app-client-id",
    "AWS_REGION": "eu-west-1",
    "TABLE_NAME": "tasks-staging",
    "TOPIC_ARN": "arn:aws:sns:eu-west-1:111122223333:tasks-staging-events",
    "EVENTS_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/111122223333/tasks-staging-events",
}


def test_development_needs_no_variables_and_points_at_the_local_aws():
    config = load_config({})
    assert config.environment is Environment.DEVELOPMENT
    assert config.auth_mode is AuthMode.NONE
    assert config.aws_endpoint_url == "http://127.0.0.1:4566"
    assert config.events_queue_url == "http://127.0.0.1:4566/123456789012/tasks-events"
    assert config.events_dlq_url == "http://127.0.0.1:4566/123456789012/tasks-events-dlq"
    assert config.events_visibility_timeout == 10  # redeliveries show within seconds locally


def test_the_local_aws_port_can_be_moved():
    assert load_config({"LOCAL_AWS_PORT": "4600"}).aws_endpoint_url == "http://127.0.0.1:4600"


def test_a_deployed_stage_reads_everything_from_the_environment():
    config = load_config(DEPLOYED)
    assert (config.environment, config.table_name, config.aws_endpoint_url) == (
        Environment.STAGING,
        "tasks-staging",
        None,
    )
    assert config.debug is False
    assert config.events_visibility_timeout == 300  # SPEC §4


@pytest.mark.parametrize(
    "missing",
    ["DJANGO_SECRET_KEY", "TABLE_NAME", "TOPIC_ARN", "EVENTS_QUEUE_URL", "AWS_REGION", "JWT_ISSUER", "JWT_AUDIENCE"],
)
@pytest.mark.parametrize("stage", ["staging", "production"])
def test_a_deployed_stage_names_the_missing_variable(missing, stage):
    env = {**DEPLOYED, "ENVIRONMENT": stage}
    del env[missing]
    with pytest.raises(ConfigurationError, match=f"{missing} is required when ENVIRONMENT={stage}"):
        load_config(env)


def test_authentication_cannot_be_turned_off_outside_development():
    with pytest.raises(ConfigurationError, match="AUTH_MODE=none is refused"):
        load_config({**DEPLOYED, "AUTH_MODE": "none"})


def test_debug_cannot_be_turned_on_outside_development():
    with pytest.raises(ConfigurationError, match="DJANGO_DEBUG must be off"):
        load_config({**DEPLOYED, "DJANGO_DEBUG": "true"})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ENVIRONMENT", "prod", "not one of: development, staging, production"),
        ("AUTH_MODE", "basic", "not one of: jwt, none"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("LOCAL_AWS_PORT", "abc", "not a whole number"),
        ("MAX_REQUEST_BODY_BYTES", "10", "outside"),
        ("DJANGO_DEBUG", "maybe", "not a boolean"),
    ],
)
def test_malformed_values_are_named_in_the_error(name, value, message):
    with pytest.raises(ConfigurationError, match=message):
        load_config({name: value})


def test_a_deployed_stage_trusts_its_user_pool_and_its_own_hosts_only():
    config = load_config(DEPLOYED)
    assert config.jwt is not None
    assert config.jwt.jwks_url == f"{DEPLOYED['JWT_ISSUER']}/.well-known/jwks.json"
    assert (config.jwt.audience, config.jwt.token_use, config.jwt.leeway_seconds) == ("app-client-id", "access", 10)
    assert config.allowed_hosts == [".execute-api.eu-west-1.amazonaws.com"]
    with_domain = load_config({**DEPLOYED, "API_DOMAIN": "tasks.example.com"})
    assert with_domain.allowed_hosts == [".execute-api.eu-west-1.amazonaws.com", "tasks.example.com"]
    assert config.cors_allowed_origins == []


def test_a_short_secret_key_is_refused_outside_development():
    with pytest.raises(ConfigurationError, match="at least 50 random characters"):
        load_config({**DEPLOYED, "DJANGO_SECRET_KEY": "short"})


def test_with_a_secrets_object_the_key_is_left_to_its_first_use():
    without_key = {name: value for name, value in DEPLOYED.items() if name != "DJANGO_SECRET_KEY"}
    with pytest.raises(ConfigurationError, match="DJANGO_SECRET_KEY is required"):
        load_config(without_key)
    config = load_config({**without_key, "SECRETS_S3_URL": "s3://tasks-config/staging.json"})
    assert config.secret_key is None  # read from the object when first used: config.secrets
    assert load_config({**DEPLOYED, "SECRETS_S3_URL": "s3://tasks-config/staging.json"}).secret_key is None


def test_development_with_jwt_trusts_the_local_key_unless_given_a_pool():
    local = load_config({"AUTH_MODE": "jwt"}).jwt
    assert local is not None
    assert local.jwks_url is None
    pool = load_config({"AUTH_MODE": "jwt", "JWT_ISSUER": "https://issuer.example", "JWT_AUDIENCE": "c"}).jwt
    assert pool is not None
    assert pool.jwks_url == "https://issuer.example/.well-known/jwks.json"
    assert load_config({}).jwt is None


def test_rate_limits_are_rates_or_off():
    assert load_config({}).throttle_rates == {"user": "600/min", "ip": "1200/min"}
    assert load_config({"THROTTLE_USER_RATE": "5/s", "THROTTLE_IP_RATE": "off"}).throttle_rates == {
        "user": "5/s",
        "ip": None,
    }
    with pytest.raises(ConfigurationError, match="THROTTLE_IP_RATE"):
        load_config({"THROTTLE_IP_RATE": "lots"})


def test_cors_origins_must_be_origins():
    assert load_config(
        {"CORS_ALLOWED_ORIGINS": "https://app.example.com, http://localhost:3000"}
    ).cors_allowed_origins == [
        "https://app.example.com",
        "http://localhost:3000",
    ]
    with pytest.raises(ConfigurationError, match="not an origin"):
        load_config({"CORS_ALLOWED_ORIGINS": "https://app.example.com/path"})


@pytest.mark.parametrize(("name", "value"), [("JWT_TOKEN_USE", "refresh"), ("JWT_LEEWAY_SECONDS", "600")])
def test_malformed_token_settings_are_named(name, value):
    with pytest.raises(ConfigurationError, match=name):
        load_config({"AUTH_MODE": "jwt", name: value})


def test_deployed_origins_must_be_https():
    assert load_config({**DEPLOYED, "CORS_ALLOWED_ORIGINS": "https://app.example.com"}).cors_allowed_origins == [
        "https://app.example.com"
    ]
    with pytest.raises(ConfigurationError, match="CORS_ALLOWED_ORIGINS"):
        load_config({**DEPLOYED, "CORS_ALLOWED_ORIGINS": "http://app.example.com"})


@pytest.mark.parametrize(
    ("name", "value"),
    [("JWT_ISSUER", "http://cognito-idp.example/pool"), ("JWT_JWKS_URL", "http://keys.example/jwks.json")],
)
def test_deployed_token_issuers_must_be_https(name, value):
    with pytest.raises(ConfigurationError, match=f"{name}=.*https://"):
        load_config({**DEPLOYED, name: value})


def test_development_is_refused_on_lambda():
    """A stage deployed without ENVIRONMENT would otherwise run with no authentication."""
    with pytest.raises(ConfigurationError, match="ENVIRONMENT=staging or production"):
        load_config({"AWS_LAMBDA_FUNCTION_NAME": "tasks-api-staging"})
    assert load_config({**DEPLOYED, "AWS_LAMBDA_FUNCTION_NAME": "tasks-api-staging"}).environment is Environment.STAGING


def test_the_secrets_object_is_named_by_an_s3_url_or_not_at_all():
    assert secrets_object({}) is None
    assert secrets_object({"SECRETS_S3_URL": "s3://tasks-config/prod/secrets.json"}) == (
        "tasks-config",
        "prod/secrets.json",
    )
    for wrong in ("tasks-config/staging.json", "s3://tasks-config", "s3:///staging.json", "https://x/y.json"):
        with pytest.raises(ConfigurationError, match=r"SECRETS_S3_URL=.* is not an S3 object URL"):
            secrets_object({"SECRETS_S3_URL": wrong})


def test_a_secrets_object_holds_a_flat_json_object_of_strings():
    assert parse_secrets(b'{"DJANGO_SECRET_KEY": "k"}', source="s3://b/k") == {"DJANGO_SECRET_KEY": "k"}
    for wrong in (b"not json", b'["DJANGO_SECRET_KEY"]', b'{"DJANGO_SECRET_KEY": {"nested": "k"}}'):
        with pytest.raises(ConfigurationError, match="s3://b/k"):
            parse_secrets(wrong, source="s3://b/k")
