"""dong households_added counter

Moved by every household added in a dong outside a crisis-list import; an import compares it per batch.

Revision ID: 660d63caeacb
Revises: 0005f40aface
Create Date: 2026-12-03 10:06:58.751727

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 (alembic renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

import volnet.core.types
import volnet.security.crypto


# revision identifiers, used by Alembic.
revision = '660d63caeacb'
down_revision = '0005f40aface'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dongs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('households_added', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('dongs', schema=None) as batch_op:
        batch_op.drop_column('households_added')
