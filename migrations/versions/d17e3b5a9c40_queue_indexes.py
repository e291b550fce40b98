"""indexes for a province's years of cases: the case's region copied onto its work items, queues read from
(region, department, status, due date, id), partial indexes of open work and of unsent outbox rows, cases.region

Revision ID: d17e3b5a9c40
Revises: c9f2a6d4e813
Create Date: 2026-12-03 14:30:00

Every staff list pages by keyset on (due_at, id) or id (services/staff.py), so each has an index in that order;
the sweeps read only pending and sending rows (services/webhooks.sweep, notify.sweep, queueing.lapsed_claims).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd17e3b5a9c40'
down_revision = 'c9f2a6d4e813'
branch_labels = None
depends_on = None

OPEN_ITEMS = sa.text("status IN ('submitted', 'accepted', 'in_progress', 'needs_supplement')")
UNSENT = sa.text("status IN ('pending', 'sending')")
DEAD = sa.text("status = 'dead'")


def _partial(name, table, where, columns):
    op.create_index(name, table, columns, unique=False, postgresql_where=where, sqlite_where=where)


def upgrade():
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region', sa.String(length=32), nullable=True))
    op.execute("UPDATE work_items SET region = (SELECT cases.region FROM cases WHERE cases.id = work_items.case_id)")
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.alter_column('region', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index('ix_work_items_region_department_status_due_at_id',
                              ['region', 'department', 'status', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_work_items_region_status_due_at_id', ['region', 'status', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_work_items_region_department_due_at_id', ['region', 'department', 'due_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_work_items_region_due_at_id', ['region', 'due_at', 'id'], unique=False)
    _partial('ix_work_items_open_region_department', 'work_items', OPEN_ITEMS, ['region', 'department', 'due_at', 'id'])
    _partial('ix_work_items_open_region', 'work_items', OPEN_ITEMS, ['region', 'due_at', 'id'])
    op.create_index('ix_cases_region', 'cases', ['region'], unique=False)
    _partial('ix_webhook_deliveries_unsent', 'webhook_deliveries', UNSENT, ['status', 'next_attempt_at', 'id'])
    _partial('ix_notifications_unsent', 'notifications', UNSENT, ['status', 'not_before', 'id'])
    _partial('ix_notifications_dead', 'notifications', DEAD, ['id'])


def downgrade():
    op.drop_index('ix_notifications_dead', table_name='notifications')
    op.drop_index('ix_notifications_unsent', table_name='notifications')
    op.drop_index('ix_webhook_deliveries_unsent', table_name='webhook_deliveries')
    op.drop_index('ix_cases_region', table_name='cases')
    op.drop_index('ix_work_items_open_region', table_name='work_items')
    op.drop_index('ix_work_items_open_region_department', table_name='work_items')
    with op.batch_alter_table('work_items', schema=None) as batch_op:
        batch_op.drop_index('ix_work_items_region_due_at_id')
        batch_op.drop_index('ix_work_items_region_department_due_at_id')
        batch_op.drop_index('ix_work_items_region_status_due_at_id')
        batch_op.drop_index('ix_work_items_region_department_status_due_at_id')
        batch_op.drop_column('region')
