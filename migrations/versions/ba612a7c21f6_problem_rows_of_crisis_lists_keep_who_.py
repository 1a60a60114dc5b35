"""problem rows of crisis lists keep who they are about

A crisis list's problem rows (risk_bad_rows) keep, beside the row's text, who the row is about as far as it
could be read: the name without spaces, the birth date, the address key and the keyed hash of a valid
registration number. Erasing or anonymising a household removes the rows that name the person, found as the
import matches (risk.person_rows); rows stored before this revision are found from their text. Constant
defaults: PostgreSQL adds the columns without rewriting the table.

Revision ID: ba612a7c21f6
Revises: 6e94d3d579ac
Create Date: 2026-12-04 19:35:56.313717

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 (alembic renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

import volnet.core.types
import volnet.security.crypto


# revision identifiers, used by Alembic.
revision = 'ba612a7c21f6'
down_revision = '6e94d3d579ac'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('risk_bad_rows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=60), server_default='', nullable=False))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('address_key', sa.String(length=420), server_default='', nullable=False))
        batch_op.add_column(sa.Column('rrn_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('risk_bad_rows', schema=None) as batch_op:
        batch_op.drop_column('rrn_hash')
        batch_op.drop_column('address_key')
        batch_op.drop_column('birth_date')
        batch_op.drop_column('name_key')

