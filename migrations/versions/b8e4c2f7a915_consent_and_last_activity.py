"""separate consent (PIPL art. 29-30) on each questionnaire, and its last activity (retention counts from it)

Revision ID: b8e4c2f7a915
Revises: d5b8f3a61c27
Create Date: 2026-12-03 09:45:00

Existing questionnaires have no consent (null): their family is asked for it before the form or an upload.
Their last activity starts as their last update.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8e4c2f7a915'
down_revision = 'd5b8f3a61c27'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('questionnaire_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_version', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('consent_recorded_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_questionnaire_sessions_last_activity_at'), ['last_activity_at'],
                              unique=False)
    op.execute("UPDATE questionnaire_sessions SET last_activity_at = updated_at")


def downgrade():
    with op.batch_alter_table('questionnaire_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questionnaire_sessions_last_activity_at'))
        batch_op.drop_column('last_activity_at')
        batch_op.drop_column('consent_recorded_by')
        batch_op.drop_column('consent_at')
        batch_op.drop_column('consent_version')
