"""work_items.matter_name: the matter's name as the case's checklist gave it, so a queue page never reads the
14 kB checklist of each row's case (issue 17)

Revision ID: e2b7c9d1f4a6
Revises: b6e2f4a81c07
Create Date: 2026-12-04 19:20:00

The name may be a variant's (Jining's pension box is named by branch), so it is copied from the checklist the
case was submitted with, not looked up in the region file. Existing rows are filled in one set-based UPDATE per
dialect (PostgreSQL's json functions, SQLite's json_each); a matter the checklist does not list keeps NULL and
the console falls back to the vocabulary's name, as before.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2b7c9d1f4a6'
down_revision = 'b6e2f4a81c07'
branch_labels = None
depends_on = None

FILL = {
    "postgresql": """UPDATE work_items w SET matter_name = m->>'name'
                     FROM cases c, json_array_elements(c.checklist->'matters') m
                     WHERE c.id = w.case_id AND m->>'id' = w.matter_id""",
    "sqlite": """UPDATE work_items SET matter_name = (
                   SELECT json_extract(m.value, '$.name') FROM cases c, json_each(c.checklist, '$.matters') m
                   WHERE c.id = work_items.case_id AND json_extract(m.value, '$.id') = work_items.matter_id)""",
}


def upgrade():
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('matter_name', sa.String(length=200), nullable=True))
    dialect = op.get_bind().dialect.name
    if dialect in FILL:
        op.execute(FILL[dialect])


def downgrade():
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_column('matter_name')
