"""concerns by household index

A household's concerns, newest first: the household page read every concern of the city without it.

Revision ID: 3f809b61188a
Revises: 660d63caeacb
Create Date: 2026-12-03 14:53:40.293206

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 (alembic renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

import volnet.core.types
import volnet.security.crypto


# revision identifiers, used by Alembic.
revision = '3f809b61188a'
down_revision = '660d63caeacb'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('concerns', schema=None) as batch_op:
        batch_op.create_index('ix_concerns_household_opened', ['household_id', 'opened_at'], unique=False)



def downgrade():
    with op.batch_alter_table('concerns', schema=None) as batch_op:
        batch_op.drop_index('ix_concerns_household_opened')

