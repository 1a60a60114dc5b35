"""login IDs stored in lower case

Login IDs were always matched without regard to case; from now on they are stored in lower case, so that
the unique constraint on users.login_id also holds "Kim" and "kim" apart when both join at one moment.
An ID that would collide with another person's (possible only through that race) keeps its spelling
with "-<id>" appended; the migration prints which.

Revision ID: 7a3c5e2b9d10
Revises: f221c211e571
Create Date: 2026-12-02 05:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7a3c5e2b9d10'
down_revision = 'f221c211e571'
branch_labels = None
depends_on = None


def upgrade():
    conn = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("login_id", sa.String))
    rows = conn.execute(sa.select(users.c.id, users.c.login_id).order_by(users.c.id)).all()
    taken = {login for _, login in rows if login == login.lower()}
    for uid, login in rows:
        if login == login.lower():
            continue
        new = login.lower()
        if new in taken:
            n = 0
            while new in taken:  # keep the suffix whole within the 60 characters; never another's ID
                sfx = f"-{uid}" + (f"-{n}" if n else "")
                new = login.lower()[:60 - len(sfx)] + sfx
                n += 1
            print(f"volnet: login ID {login!r} (user {uid}) is now {new!r}: {login.lower()!r} belongs to another account")
        taken.add(new)
        conn.execute(users.update().where(users.c.id == uid).values(login_id=new))


def downgrade():
    pass  # the lower-case IDs stay valid: matching was case-insensitive before as well
