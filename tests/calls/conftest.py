import pytest


@pytest.fixture(autouse=True)
def _english_pages(request):
    """These tests read messages in English; Korean (the default) is covered by tests/platform."""
    if "client" in request.fixturenames:
        request.getfixturevalue("client").set_cookie("volnet_lang", "en")
    yield
