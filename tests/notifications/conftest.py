from __future__ import annotations

from datetime import datetime

import pytest

from volnet.core import clock


@pytest.fixture(autouse=True)
def daytime(request):
    """Outside quiet hours unless a test says otherwise (the real clock may be at night in Seoul)."""
    if request.node.get_closest_marker("redis") is None:
        clock.freeze(datetime(2026, 3, 2, 10, 0, tzinfo=clock.SEOUL))
    yield
