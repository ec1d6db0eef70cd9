"""Configuration from the environment: development just works, deployed stages fail fast."""

import pytest

from config.environment import AuthMode, ConfigurationError, Environment, load_config

DEPLOYED = {
    "ENVIRONMENT": "staging",
    "AUTH_MODE": "jwt",
    "DJANGO_SECRET_KEY": "s3cret-s3cret-s3cret",
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


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "TABLE_NAME", "TOPIC_ARN", "EVENTS_QUEUE_URL", "AWS_REGION"])
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
