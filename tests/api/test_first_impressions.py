"""First impressions of the API: the root a newcomer is sent to opens on links that work, and says
how requests say who they are in the mode served."""

from __future__ import annotations


def test_with_authentication_off_the_roots_tasks_link_opens_on_a_listing(api):
    data = api.client.get("/").json()["data"]
    assert data["tasks"] == "http://testserver/tasks?user_id=alice"
    assert api.client.get(data["tasks"]).status_code == 200  # a bare /tasks would be a 400 here
    assert "user_id" in data["authentication"]


def test_with_authentication_on_the_root_says_how_to_send_a_token(api, issuer):
    data = api.client.get("/").json()["data"]
    assert data["tasks"] == "http://testserver/tasks"  # the token names the user
    assert "Authorization: Bearer <token>" in data["authentication"]
    signed_in = api.signed_in(issuer.token("alice")).client.get("/").json()["data"]
    assert signed_in["authentication"] == "Signed in as alice with a bearer token."
    assert api.signed_in(issuer.token("alice")).client.get(signed_in["tasks"]).status_code == 200
