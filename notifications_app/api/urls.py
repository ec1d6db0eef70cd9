"""Routes of the webhook endpoints; a trailing slash is optional, as on every path."""

from notifications_app.api.views import WebhookViewSet
from tasks_app.api.urls import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
