"""staff sessions end on the server (session_generation) and a second factor (TOTP secret, last step used)

Revision ID: c4d7e2a91b35
Revises: e23714084f53
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d7e2a91b35'
down_revision = 'e23714084f53'
branch_labels = None
depends_on = None


def upgrade():
    # Existing accounts start at generation 1; tokens issued before carry none and are refused (sign in again).
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('session_generation')
