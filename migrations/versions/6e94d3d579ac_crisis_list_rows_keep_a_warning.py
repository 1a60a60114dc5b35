"""crisis list rows keep a warning

A row whose resident registration number is masked (440105-2******) or unreadable is imported and matched on
name, birth date and address; the round's page says so beside it (risk_rows.warning = 'rrn_unread'). A
constant default: PostgreSQL adds the column without rewriting the table.

Revision ID: 6e94d3d579ac
Revises: eee468e676d7
Create Date: 2026-12-04 19:27:14.863581

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text  # noqa: F401 (alembic renders JSONB(astext_type=Text()))
from sqlalchemy.dialects import postgresql

import volnet.core.types
import volnet.security.crypto


# revision identifiers, used by Alembic.
revision = '6e94d3d579ac'
down_revision = 'eee468e676d7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('risk_rows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warning', sa.String(length=20), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('risk_rows', schema=None) as batch_op:
        batch_op.drop_column('warning')
