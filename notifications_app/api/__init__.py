"""The webhook endpoints' HTTP API: serializers, views, routes and their OpenAPI documentation."""
