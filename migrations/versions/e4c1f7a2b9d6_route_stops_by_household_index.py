"""Route stops by household (the household page's volunteer services)

Revision ID: e4c1f7a2b9d6
Revises: a812c8a532c2
Create Date: 2026-12-04 12:00:00

"""
from alembic import op

revision = 'e4c1f7a2b9d6'
down_revision = 'a812c8a532c2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_shift_route_stops_household", "shift_route_stops", ["household_id"])


def downgrade():
    op.drop_index("ix_shift_route_stops_household", table_name="shift_route_stops")
