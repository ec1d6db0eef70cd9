"""Top-level URLs: the task API, read models, webhooks, schema, Swagger UI, favicon; errors for the rest."""

from django.urls import include, path, re_path
from django.urls.resolvers import RoutePattern, URLResolver

from config import static_files
from tasks_app.api import docs, errors
from tasks_app.api.root import api_root

# The notification endpoints (webhooks, email settings: their views, serializers, SES and
# Standard Webhooks code) are imported when the resolver first gets past the task routes to them
# (a path of theirs, or one nothing matches), or anything is reversed: not by a cold start's first
# request for a task (issue 12). `path("", include(module))` imports the module at once, then
# makes this URLResolver; given the module's name instead, the resolver imports it when first
# consulted, as Django does ROOT_URLCONF.
_notifications = URLResolver(RoutePattern("", is_endpoint=False), "notifications_app.api.urls")

urlpatterns = [
    path("", api_root, name="api-root"),
    path("", include("events_app.api.urls")),  # before the task routes: see events_app/api/urls.py
    path("", include("tasks_app.api.urls")),
    _notifications,  # after the task routes, which answer a cold start's first request
    re_path(r"^api/schema/?$", docs.schema, name="openapi-schema"),
    re_path(r"^swagger/?$", docs.swagger_ui, name="swagger-ui"),
    # Browsers ask for it on every page, under the stage prefix too; the browsable API links it.
    re_path(r"^favicon\.ico$", static_files.favicon, name="favicon"),
    # Last: any other path is a 404 in the envelope (browsable in a browser), whatever DEBUG says.
    re_path(r"^", errors.not_found),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.not_found
handler500 = errors.server_error
