"""signup cancelled by the organizer and reason

A place the coordinator took away ("removed") or a program pause ended ("paused") stays on the volunteer's
My shifts, greyed, with the reason given.

Revision ID: bfefabf1234f
Revises: e4c1f7a2b9d6
Create Date: 2026-12-04 02:36:58.514109

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 (alembic renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

import volnet.core.types
import volnet.security.crypto


# revision identifiers, used by Alembic.
revision = 'bfefabf1234f'
down_revision = 'e4c1f7a2b9d6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shift_signups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_by', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=300), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('shift_signups', schema=None) as batch_op:
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_by')
