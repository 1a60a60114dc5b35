import pytest


@pytest.fixture(autouse=True)
def _english_messages(request):
    """Service-level messages are checked in English (outside a request the default locale is Korean)."""
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")
    from flask_babel import force_locale

    with force_locale("en"):
        yield
