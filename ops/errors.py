"""The one error type of operations code: its message says what went wrong and what to do."""


class OperationsError(Exception):
    """Provisioning, table dumps or the local stack could not do their job."""
