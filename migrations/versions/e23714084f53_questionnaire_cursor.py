"""questionnaire cursor: where the family is, apart from the answers (back no longer deletes one)

Revision ID: e23714084f53
Revises: f1c134f3d6a0
Create Date: 2026-12-02 13:34:27.792391

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e23714084f53'
down_revision = 'f1c134f3d6a0'
branch_labels = None
depends_on = None


def upgrade():
    # sa.false() is "false" on PostgreSQL and 0 on SQLite (a literal 0 is refused by PostgreSQL's boolean).
    # Existing sessions start with no cursor: the first unanswered question, as before.
    with op.batch_alter_table('questionnaire_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cursor_question', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('cursor_review', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('questionnaire_sessions', schema=None) as batch_op:
        batch_op.drop_column('cursor_review')
        batch_op.drop_column('cursor_question')
