"""personal data encrypted at rest: sealed columns, blind indexes for the phone lookups and staff search

Revision ID: c4d2e8a1f603
Revises: b8e4c2f7a915
Create Date: 2026-12-03 14:00:00

The form (drafts and cases), phone numbers, notification recipients and texts and rating comments become
text columns holding sealed values (miniapp_api/encrypted.py), and the rows already there are sealed here,
with the app's master key (flask db upgrade runs inside the app). An SMS applicant's channel_user_id, until
now the number itself, becomes its blind index; verified phones get theirs; every case gets its search keys.
"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = 'c4d2e8a1f603'
down_revision = 'b8e4c2f7a915'
branch_labels = None
depends_on = None

# (table, column, old type, is JSON, nullable)
SEALED = (
    ('questionnaire_sessions', 'form_draft', sa.JSON(), True, False),
    ('cases', 'form', sa.JSON(), True, False),
    ('notifications', 'payload', sa.JSON(), True, False),
    ('notifications', 'recipient', sa.String(length=128), False, False),
    ('applicants', 'phone', sa.String(length=20), False, True),
    ('verified_phones', 'phone', sa.String(length=20), False, False),
    ('ratings', 'comment', sa.String(length=500), False, True),
)
BATCH = 1000


def _rows(table, columns):
    """Every row's id and ``columns``, a batch at a time (a large outbox is not loaded whole)."""
    bind, last = op.get_bind(), None
    while True:
        where = '' if last is None else f' WHERE id > :last'
        rows = bind.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}{where} ORDER BY id LIMIT {BATCH}"),
                            {} if last is None else {'last': last}).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _set(table, column, row_id, value):
    op.get_bind().execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {'v': value, 'id': row_id})


def upgrade():
    from miniapp_api import blind_index, envelope

    keys = current_app.extensions['keys']
    for table, column, old, _json, nullable in SEALED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, type_=sa.Text(), existing_type=old, existing_nullable=nullable,
                                  postgresql_using=f'{column}::text')
    for table, column, *_ in SEALED:
        for row_id, value in _rows(table, [column]):
            if value and not envelope.is_sealed_text(value):
                _set(table, column, row_id, envelope.seal_text(keys, value, f'{table}.{column}'))

    with op.batch_alter_table('verified_phones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_digest', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('tail_digest', sa.String(length=32), nullable=True))
        batch_op.drop_constraint('uq_verified_phones_applicant_id', type_='unique')
    for row_id, sealed in _rows('verified_phones', ['phone']):
        phone = envelope.open_text(keys, sealed, 'verified_phones.phone')
        op.get_bind().execute(sa.text("UPDATE verified_phones SET phone_digest = :p, tail_digest = :t WHERE id = :id"),
                              {'p': blind_index.phone_digest(keys.index_key, phone),
                               't': blind_index.phone_tail_digest(keys.index_key, phone[-4:]), 'id': row_id})
    with op.batch_alter_table('verified_phones', schema=None) as batch_op:
        batch_op.alter_column('phone_digest', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('tail_digest', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint('uq_verified_phones_applicant_id_phone_digest', ['applicant_id', 'phone_digest'])

    bind = op.get_bind()
    for row_id, number in bind.execute(sa.text("SELECT id, channel_user_id FROM applicants WHERE channel = 'sms'")).all():
        _set('applicants', 'channel_user_id', row_id, blind_index.phone_digest(keys.index_key, number))

    op.create_table(
        'case_search_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('region', sa.String(length=32), nullable=False),
        sa.Column('digest', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_search_keys_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_search_keys')),
    )
    with op.batch_alter_table('case_search_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_search_keys_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_search_keys_region_digest', ['region', 'digest'], unique=False)
    import json

    for row_id, region, sealed in _rows('cases', ['region', 'form']):
        form = json.loads(envelope.open_text(keys, sealed, 'cases.form'))
        for digest in sorted(blind_index.form_digests(keys.index_key, form)):
            bind.execute(sa.text("INSERT INTO case_search_keys (case_id, region, digest) VALUES (:c, :r, :d)"),
                         {'c': row_id, 'r': region, 'd': digest})


def downgrade():
    """Back to plaintext columns (the values opened with the app's keys); SMS applicants get their number
    back from their proven phone."""
    from miniapp_api import envelope

    keys = current_app.extensions['keys']
    op.drop_table('case_search_keys')
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT a.id, v.phone FROM applicants a JOIN verified_phones v ON v.applicant_id = a.id "
        "WHERE a.channel = 'sms' AND v.phone_digest = a.channel_user_id")).all()
    for row_id, sealed in rows:
        _set('applicants', 'channel_user_id', row_id, envelope.open_text(keys, sealed, 'verified_phones.phone'))
    with op.batch_alter_table('verified_phones', schema=None) as batch_op:
        batch_op.drop_constraint('uq_verified_phones_applicant_id_phone_digest', type_='unique')
        batch_op.drop_column('tail_digest')
        batch_op.drop_column('phone_digest')
        batch_op.create_unique_constraint('uq_verified_phones_applicant_id', ['applicant_id', 'phone'])
    for table, column, old, is_json, nullable in SEALED:
        for row_id, value in _rows(table, [column]):
            if value and envelope.is_sealed_text(value):
                _set(table, column, row_id, envelope.open_text(keys, value, f'{table}.{column}'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, type_=old, existing_type=sa.Text(), existing_nullable=nullable,
                                  postgresql_using=f'{column}::{"json" if is_json else "varchar"}')
