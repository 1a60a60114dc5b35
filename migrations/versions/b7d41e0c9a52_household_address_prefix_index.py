"""Household address index usable for LIKE 'prefix%' on PostgreSQL under any collation

Revision ID: b7d41e0c9a52
Revises: cccf822a92a1
Create Date: 2026-12-04 01:40:00

"""
from alembic import op

revision = 'b7d41e0c9a52'
down_revision = 'cccf822a92a1'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's index is unchanged (it has no operator classes)
    op.drop_index("ix_households_dong_addr", table_name="households")
    op.create_index("ix_households_dong_addr", "households", ["dong_id", "address_key"],
                    postgresql_ops={"address_key": "varchar_pattern_ops"})


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_households_dong_addr", table_name="households")
    op.create_index("ix_households_dong_addr", "households", ["dong_id", "address_key"])
