"""address keys without region

Households' address keys are computed again: they now leave out a leading 시·도 / 시·군·구 (see
volnet.core.korean.address_key), so "의정부시 민락로 106" finds the household recorded as "경기도 의정부시 민락로 106".
The keys are computed by the function of this version, in batches of 2,000 households.

Revision ID: cccf822a92a1
Revises: 802f0339a91d
Create Date: 2026-12-03 19:05:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'cccf822a92a1'
down_revision = '802f0339a91d'
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade():
    from volnet.core.korean import address_key

    households = sa.table("households", sa.column("id", sa.Integer), sa.column("road_address", sa.String),
                          sa.column("unit", sa.String), sa.column("jibun_address", sa.String),
                          sa.column("address_key", sa.String))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.select(households.c.id, households.c.road_address, households.c.unit,
                                      households.c.jibun_address, households.c.address_key)
                            .where(households.c.id > last).order_by(households.c.id).limit(BATCH)).all()
        if not rows:
            break
        last = rows[-1].id
        changed = [{"hid": r.id, "key": key} for r in rows
                   if (key := address_key(r.road_address, r.unit, r.jibun_address)[:420]) != r.address_key]
        if changed:
            bind.execute(households.update().where(households.c.id == sa.bindparam("hid"))
                         .values(address_key=sa.bindparam("key")), changed)


def downgrade():
    # The keys stay as they are: an earlier version then finds these households by a search for part of the
    # address, but a quick add that writes the 시·도 finds none at the address (it adds one). Households saved
    # again get their earlier key back.
    pass
