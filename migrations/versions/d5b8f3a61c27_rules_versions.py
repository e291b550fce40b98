"""rules versions: each region file's content per version; the version a questionnaire is on and a case was
submitted under, and what changed for the family when their questionnaire moved to a newer one

Revision ID: d5b8f3a61c27
Revises: a7c3e9d1b2f4
Create Date: 2026-12-08 10:00:00

Existing questionnaires and cases get no version (null): an open questionnaire takes the current one the next
time it is read (its answers checked against it); a case submitted before keeps null, "not recorded".
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5b8f3a61c27'
down_revision = 'a7c3e9d1b2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rules_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region', sa.String(length=32), nullable=False),
        sa.Column('version', sa.String(length=16), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rules_versions')),
        sa.UniqueConstraint('region', 'version', name=op.f('uq_rules_versions_region')),
    )
    with op.batch_alter_table('questionnaire_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rules_version', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('rules_notice', sa.JSON(), nullable=True))
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rules_version', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('rules_version')
    with op.batch_alter_table('questionnaire_sessions', schema=None) as batch_op:
        batch_op.drop_column('rules_notice')
        batch_op.drop_column('rules_version')
    op.drop_table('rules_versions')
