"""Lambda SnapStart: what goes into the snapshot, and what each restored instance redoes.

Zappa sets Django up while the module loads when INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT is set
(zappa_settings.json sets it), which is Lambda's init phase, the part SnapStart snapshots. The
snapshot should hold the deterministic, expensive work, and nothing one instance must not share
with another: no open connections, no cached credentials, no random state.
"""

from __future__ import annotations

import logging
import random

logger = logging.getLogger(__name__)


def install() -> None:
    """Register the hooks, when the runtime offers them (Lambda's Python runtimes do)."""
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:  # not on Lambda
        return
    register_before_snapshot(warm_up)
    register_after_restore(refresh)


def warm_up() -> None:
    """Import what any first request would: Django loads the URLconf, and with it the views,
    serializers and DRF, only when it first resolves a path (the notification endpoints only
    when one of their paths is asked for, or a route is reversed, as here). And read the secret key (from the
    SECRETS_S3_URL object, which an instance without SnapStart reads when first used): once per
    published version, into the snapshot, so a restored instance never reads it, and a version
    whose object cannot be read fails to publish (ImproperlyConfigured, naming the object)."""
    from django.conf import settings
    from django.urls import reverse

    reverse("api-root")  # reversing maps every route, importing every view: the import is the point
    str(settings.SECRET_KEY)


def refresh() -> None:
    """Every restored instance starts from the same memory: new random state, AWS clients made
    afresh with the credentials this instance was given, X-Ray's socket and sampler anew."""
    from events_app import bootstrap as events_wiring
    from notifications_app import bootstrap as notifications_wiring
    from tasks_app import bootstrap as tasks_wiring
    from tasks_app import tracing

    random.seed()
    events_wiring.disconnect()
    notifications_wiring.disconnect()
    tasks_wiring.disconnect()
    tracing.refresh()
    logger.info("Restored from a SnapStart snapshot")
