"""The one error type of resource management: its message says what went wrong and what to do."""


class InfrastructureError(Exception):
    """Provisioning, table dumps or the local stack could not do their job."""
