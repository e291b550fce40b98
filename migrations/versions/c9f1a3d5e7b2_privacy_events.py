"""privacy_events: the family's rights used over their application (export, correct, withdraw consent, delete)

Revision ID: c9f1a3d5e7b2
Revises: c4d2e8a1f603
Create Date: 2026-12-04 09:00:00

Append-only, kept like the audit trail (retention never sweeps it). No foreign key to the questionnaire: the
record of a deletion outlives what was deleted.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c9f1a3d5e7b2'
down_revision = 'c4d2e8a1f603'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('privacy_events',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('questionnaire_id', sa.String(length=32), nullable=False),
                    sa.Column('applicant_id', sa.String(length=32), nullable=True),
                    sa.Column('action', sa.String(length=32), nullable=False),
                    sa.Column('detail', sa.JSON(), nullable=False),
                    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('privacy_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_events_questionnaire_id'), ['questionnaire_id'], unique=False)


def downgrade():
    with op.batch_alter_table('privacy_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_events_questionnaire_id'))
    op.drop_table('privacy_events')
