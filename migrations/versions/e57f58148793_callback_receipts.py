"""callback receipts: a department callback's replay key, stored in the commit that applies it

Revision ID: e57f58148793
Revises: c4d7e2a91b35
Create Date: 2026-12-02 14:37:28.674211

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e57f58148793'
down_revision = 'c4d7e2a91b35'
branch_labels = None
depends_on = None


def upgrade():
    # Was a Redis key set before processing: a callback our outage refused could never be sent again.
    op.create_table('callback_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_receipts')),
    sa.UniqueConstraint('department', 'signature', name=op.f('uq_callback_receipts_department'))
    )
    with op.batch_alter_table('callback_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_receipts_received_at'), ['received_at'], unique=False)


def downgrade():
    with op.batch_alter_table('callback_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_receipts_received_at'))
    op.drop_table('callback_receipts')
