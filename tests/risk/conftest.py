import pytest

from tests import builders as b
from tests.risk import builders as rb
from volnet.extensions import db


@pytest.fixture
def staff(app, client):
    """A dong with the indicator types seeded, and a caseworker of it, logged in."""
    d = b.dong()
    u = b.user("caseworker", dongs=[d])
    rb.seed_types()
    db.session.commit()
    b.login(client, u)
    return d, u
