"""verified phones: official texts and the status lookup use only numbers the applicant proved are theirs

Revision ID: a7c3e9d1b2f4
Revises: e57f58148793
Create Date: 2026-12-05 10:00:00

Existing accounts keep the number they signed in with (SMS sign-in, WeChat getPhoneNumber, a host app's
claim) as verified; a window clerk's typed number is not carried over (the clerk verifies it by code).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e9d1b2f4'
down_revision = 'e57f58148793'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'verified_phones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('applicant_id', sa.String(length=32), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('how', sa.String(length=16), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'], name=op.f('fk_verified_phones_applicant_id_applicants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_verified_phones')),
        sa.UniqueConstraint('applicant_id', 'phone', name=op.f('uq_verified_phones_applicant_id')),
    )
    with op.batch_alter_table('verified_phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verified_phones_applicant_id'), ['applicant_id'], unique=False)
    op.execute(
        "INSERT INTO verified_phones (applicant_id, phone, how, verified_at) "
        "SELECT id, phone, CASE WHEN channel LIKE 'host:%' THEN 'host' ELSE channel END, created_at "
        "FROM applicants WHERE phone IS NOT NULL AND channel <> 'window'"
    )


def downgrade():
    with op.batch_alter_table('verified_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verified_phones_applicant_id'))
    op.drop_table('verified_phones')
