"""Deny by default: every route declares who may use it."""
from volnet.core.access import access_of


def test_every_route_declares_an_access_rule(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        if access_of(view) is None:
            missing.append(rule.rule)
    assert missing == []


def test_a_route_without_rule_answers_404(app, client):
    from volnet.core import access

    view = app.view_functions["main.health"]
    saved = view._volnet_access
    try:
        del view._volnet_access
        assert client.get("/health").status_code == 404
    finally:
        view._volnet_access = saved
    assert access.access_of(view) is not None
