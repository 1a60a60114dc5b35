"""risk rows in round order

The round page lists a crisis list's rows by row number: without this index it sorted the whole list.

Revision ID: e1a03415bd5d
Revises: 3f809b61188a
Create Date: 2026-12-03 15:16:23.049232

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 (alembic renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

import volnet.core.types
import volnet.security.crypto


# revision identifiers, used by Alembic.
revision = 'e1a03415bd5d'
down_revision = '3f809b61188a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('risk_rows', schema=None) as batch_op:
        batch_op.create_index('ix_risk_rows_round_row', ['round_id', 'row_number'], unique=False)


def downgrade():
    with op.batch_alter_table('risk_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_rows_round_row')

