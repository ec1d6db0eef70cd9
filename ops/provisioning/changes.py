"""What every provisioning step reports: one `Change` per resource, created, updated or unchanged."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class Change:
    """One resource's outcome, printed by `provision` as a line."""

    kind: str
    name: str
    action: str  # "created", "updated" or "unchanged"; "would ..." in a dry run
    detail: str = ""

    def __str__(self) -> str:
        return self.line()

    def line(self, name_width: int = 28) -> str:
        return f"{self.kind:<13} {self.name:<{name_width}} {self.action}{f' ({self.detail})' if self.detail else ''}"


def act(action: str, dry_run: bool) -> str:
    """The action as a `Change` says it: "created", or "would be created" in a dry run."""
    return f"would be {action}" if dry_run else action


def error_code(error: ClientError) -> str:
    """The AWS error code of a failed call, e.g. `ResourceNotFoundException`."""
    return str(error.response.get("Error", {}).get("Code", ""))
