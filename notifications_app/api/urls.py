"""Routes of the webhook and email notification endpoints; a trailing slash is optional, as on every path."""

from django.urls import re_path

from notifications_app.api.email_views import CONFIRM_ROUTE, EmailConfirmView, NotificationSettingsView
from notifications_app.api.views import WebhookViewSet
from tasks_app.api.urls import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    re_path(r"^notifications/settings/?$", NotificationSettingsView.as_view(), name="notifications-settings"),
    re_path(r"^notifications/confirm/?$", EmailConfirmView.as_view(), name=CONFIRM_ROUTE),
    *router.urls,
]
