"""Roles of DOMAIN.md and the groups the access rules use."""
from volnet.core.i18n import lazy_gettext as _l

ADMIN = "admin"
TEAM_LEAD = "team_lead"
CASEWORKER = "caseworker"
NURSE = "nurse"
HONORARY = "honorary"
TONG_LEADER = "tong_leader"
CARE_CORPS = "care_corps"
PARTNER = "partner"
VOLUNTEER = "volunteer"
COORDINATOR = "coordinator"

ROLE_LABELS = {
    ADMIN: _l("Administrator"),
    TEAM_LEAD: _l("Team lead"),
    CASEWORKER: _l("Caseworker"),
    NURSE: _l("Visiting nurse"),
    HONORARY: _l("Honorary welfare officer"),
    TONG_LEADER: _l("Tong leader"),
    CARE_CORPS: _l("Care corps member"),
    PARTNER: _l("Partner staff"),
    VOLUNTEER: _l("Volunteer"),
    COORDINATOR: _l("Partner organization coordinator"),
}
ALL_ROLES = tuple(ROLE_LABELS)

# Dong welfare-centre staff: see the households and concerns of their dongs.
STAFF = (TEAM_LEAD, CASEWORKER, NURSE)
# Staff who may read sensitive data (health, screening, income).
SENSITIVE_READERS = (TEAM_LEAD, CASEWORKER, NURSE)
# Neighbourhood eyes: report observations, see only their own reports' coarse status.
NEIGHBOURHOOD = (HONORARY, TONG_LEADER, CARE_CORPS, PARTNER, VOLUNTEER)
# Anyone who may log an observation.
REPORTERS = NEIGHBOURHOOD + STAFF + (COORDINATOR,)
# Roles that may see a household's name or alias when searching (they know their neighbours).
KNOWS_NEIGHBOURS = (HONORARY, TONG_LEADER, CARE_CORPS) + STAFF
# Roles for which two-step login can be made mandatory.
TOTP_ROLES = (ADMIN, TEAM_LEAD, CASEWORKER)
