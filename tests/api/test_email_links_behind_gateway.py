"""The confirmation link as a deployed stage builds it: through Zappa's handler, behind the raw
execute-api URL (the stage prefixes the path) or a custom domain (nothing does)."""

from __future__ import annotations

from typing import Any

import pytest

from ops.local.local_ses import sent_mail
from tests.api.test_zappa_handler import CUSTOM_DOMAIN, EXECUTE_API_HOST, STAGE, Invoke, invoke, payload

__all__ = ["invoke"]  # the fixture, used by name


@pytest.mark.parametrize(("host", "prefix"), [(EXECUTE_API_HOST, f"/{STAGE}"), (CUSTOM_DOMAIN, "")])
def test_the_confirmation_link_is_on_the_requests_host_under_its_prefix(
    invoke: Invoke, aws: Any, host: str, prefix: str
) -> None:
    saved = invoke(
        "PUT", "/notifications/settings", body={"email": "alice@example.com"}, query={"user_id": "alice"}, host=host
    )
    assert saved["statusCode"] == 200, saved
    assert payload(saved)["data"]["email_confirmed"] is False
    (mail,) = sent_mail(aws.server.url)
    (link,) = mail.links
    assert link.startswith(f"https://{host}{prefix}/notifications/confirm?token=")

    token = link.split("?token=", 1)[1]
    confirmed = invoke("GET", "/notifications/confirm", query={"token": token}, host=host)
    assert (confirmed["statusCode"], payload(confirmed)["data"]["email_confirmed"]) == (200, True)
