"""Top-level URLs: the task API, read models, webhooks, schema, Swagger UI, favicon; errors for the rest."""

from django.urls import include, path, re_path

from config import static_files
from tasks_app.api import docs, errors
from tasks_app.api.root import api_root

urlpatterns = [
    path("", api_root, name="api-root"),
    path("", include("events_app.api.urls")),  # before the task routes: see events_app/api/urls.py
    path("", include("tasks_app.api.urls")),
    path("", include("notifications_app.api.urls")),
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
