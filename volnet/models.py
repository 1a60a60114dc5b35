"""Import every domain's models so that metadata is complete (migrations, create_all)."""
import importlib

from volnet.accounts.models import Invitation, Organization, User  # noqa: F401
from volnet.audit.models import AuditLog  # noqa: F401
from volnet.concerns.models import Concern, ConcernEvent  # noqa: F401
from volnet.households.models import Household  # noqa: F401
from volnet.observations.models import Observation  # noqa: F401
from volnet.places.models import Dong, Tong  # noqa: F401
from volnet.security.models import ThrottleEvent  # noqa: F401
from volnet.settings.models import Setting  # noqa: F401

for _name in ("shifts", "notifications", "risk", "cases", "calls", "reports", "privacy"):
    try:
        importlib.import_module(f"volnet.{_name}.models")
    except ModuleNotFoundError as _exc:
        if _exc.name not in (f"volnet.{_name}", f"volnet.{_name}.models"):
            raise

import volnet.concerns.policy  # noqa: E402,F401  (registers access policies)
