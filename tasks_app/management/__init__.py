"""Management commands of the task API."""
