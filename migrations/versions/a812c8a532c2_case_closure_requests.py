"""Case closure requests: a caseworker's closure of an integrated case waits for a team lead's approval

Revision ID: a812c8a532c2
Revises: d5e8a1c4b7f3
Create Date: 2026-12-04 01:56:28.025226

"""
import sqlalchemy as sa
from alembic import op

import volnet.core.types
import volnet.security.crypto


# revision identifiers, used by Alembic.
revision = 'a812c8a532c2'
down_revision = 'd5e8a1c4b7f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_closure_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', volnet.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('note', volnet.security.crypto.EncryptedText(), nullable=False),
    sa.Column('end_linkages', sa.Boolean(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', volnet.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.String(length=10), nullable=True),
    sa.Column('return_note', volnet.security.crypto.EncryptedText(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_closure_requests_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_case_closure_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_case_closure_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_closure_requests'))
    )
    with op.batch_alter_table('case_closure_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_closure_requests_case_id'), ['case_id'], unique=False)
        batch_op.create_index('uq_case_closure_request_waiting', ['case_id'], unique=True, sqlite_where=sa.text('decided_at IS NULL'), postgresql_where=sa.text('decided_at IS NULL'))



def downgrade():
    with op.batch_alter_table('case_closure_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_case_closure_request_waiting', sqlite_where=sa.text('decided_at IS NULL'), postgresql_where=sa.text('decided_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_case_closure_requests_case_id'))

    op.drop_table('case_closure_requests')
