"""What only generating the OpenAPI schema needs: drf-spectacular's generator and this API's
extensions of it; loaded through SPECTACULAR_SETTINGS["DEFAULT_GENERATOR_CLASS"], so only when a
schema is generated (GET /api/schema, `manage.py spectacular`, `check --deploy`).

drf-spectacular finds extensions by their classes being defined: defining them here, in the
module the generator comes from, keeps `drf_spectacular.extensions` and `drf_spectacular.openapi`
(with `rest_framework.test`, `django.test` and yaml: a tenth of a second) off the API's cold start.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import generators
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema

from tasks_app.api.fields import (
    CURSOR_PATTERN,
    NO_NUL_PATTERN,
    CommaSeparatedChoiceField,
    CursorField,
    StrictCharField,
    comma_list_pattern,
    trimmed_text_pattern,
)


class SchemaGenerator(generators.SchemaGenerator):
    """drf-spectacular's generator, for views whose schema is `DeferredAutoSchema`, DRF's
    DEFAULT_SCHEMA_CLASS (see it): each view's schema gets drf-spectacular's AutoSchema under it,
    so that `@extend_schema`'s subclasses, built on `DeferredAutoSchema`, document as they would
    on AutoSchema."""

    def create_view(self, callback: Any, method: str, request: Any = None) -> Any:
        """The view instance drf-spectacular makes for `callback`, with an AutoSchema as its schema."""
        view = super().create_view(callback, method, request)  # type: ignore[no-untyped-call]
        schema = getattr(view, "schema", None)  # the schema itself, or drf-spectacular's weak proxy of it
        if schema is not None and not isinstance(schema, AutoSchema):
            # `schema`'s own methods (an `@extend_schema`'s) first, AutoSchema's for the rest.
            on_auto_schema = type(schema.__class__.__name__, (schema.__class__, AutoSchema), {})
            self._set_schema_to_view(view, on_auto_schema())  # type: ignore[no-untyped-call]
        return view


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents `BearerTokenAuthentication` as HTTP bearer JWTs (Cognito access tokens)."""

    target_class = "tasks_app.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Cognito access token (with AUTH_MODE=jwt); `issue_token` makes one locally.",
        }


class StrictTextFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """Publishes what `StrictCharField` and `CommaSeparatedChoiceField` accept as a `pattern`,
    so schema-valid text is accepted and nothing else (SPEC §1: NUL refused, text trimmed)."""

    target_class = "rest_framework.fields.CharField"
    match_subclasses = True

    @classmethod
    def _matches(cls, target: Any) -> bool:
        return isinstance(target, StrictCharField | CommaSeparatedChoiceField)

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field = self.target
        schema: dict[str, Any] = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if isinstance(field, CursorField):
            schema["pattern"] = CURSOR_PATTERN
        elif isinstance(field, CommaSeparatedChoiceField):
            schema["pattern"] = comma_list_pattern(field.choices)
        elif field.trim_whitespace:
            schema["pattern"] = trimmed_text_pattern(
                field.max_length, excluded=field.excluded, allow_blank=field.allow_blank
            )
        else:
            schema["pattern"] = NO_NUL_PATTERN
        return schema


class StrictBodySchema(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    """Says of every `StrictBodySerializer` body what it does: a field it does not know is a 400
    naming it (SPEC §2), so no additional properties."""

    target_class = "tasks_app.api.fields.StrictBodySerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        return schema
