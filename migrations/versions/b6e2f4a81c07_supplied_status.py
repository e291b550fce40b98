"""work items get the status ``supplied`` (the family says it has supplied what was asked): the partial indexes
of open work include it

Revision ID: b6e2f4a81c07
Revises: d17e3b5a9c40
Create Date: 2026-12-04 19:20:00

``status`` is a plain string column, so the new value needs no column change; only the two partial indexes of
open work (models.OPEN_ITEMS) are made again with it, so the queues of open work still read only them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b6e2f4a81c07'
down_revision = 'd17e3b5a9c40'
branch_labels = None
depends_on = None

BEFORE = sa.text("status IN ('submitted', 'accepted', 'in_progress', 'needs_supplement')")
AFTER = sa.text("status IN ('submitted', 'accepted', 'in_progress', 'needs_supplement', 'supplied')")
INDEXES = (('ix_work_items_open_region_department', ['region', 'department', 'due_at', 'id']),
           ('ix_work_items_open_region', ['region', 'due_at', 'id']))


def _remake(where):
    for name, columns in INDEXES:
        op.drop_index(name, table_name='work_items')
        op.create_index(name, 'work_items', columns, unique=False, postgresql_where=where, sqlite_where=where)


def upgrade():
    _remake(AFTER)


def downgrade():
    # An item left supplied goes back to submitted, the state that meant the same before this revision.
    op.execute("UPDATE work_items SET status = 'submitted' WHERE status = 'supplied'")
    _remake(BEFORE)
