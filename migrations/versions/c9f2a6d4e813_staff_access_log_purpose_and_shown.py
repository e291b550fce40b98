"""each staff read of personal data with its purpose (handle, search, print, photo) and the field groups it showed

Revision ID: c9f2a6d4e813
Revises: c9f1a3d5e7b2
Create Date: 2026-12-04 09:00:00

Reads logged before say their purpose by what they read: a search, a photo (page:<id>), else a case opened to
work it. What they showed was not recorded: null.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c9f2a6d4e813'
down_revision = 'c9f1a3d5e7b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_access_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('shown', sa.JSON(), nullable=True))
    op.execute("UPDATE staff_access_log SET purpose = CASE WHEN what = 'search' THEN 'search' "
               "WHEN what LIKE 'page:%' THEN 'photo' ELSE 'handle' END")
    with op.batch_alter_table('staff_access_log', schema=None) as batch_op:
        batch_op.alter_column('purpose', existing_type=sa.String(length=16), nullable=False)


def downgrade():
    with op.batch_alter_table('staff_access_log', schema=None) as batch_op:
        batch_op.drop_column('shown')
        batch_op.drop_column('purpose')
