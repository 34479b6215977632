"""labs: values as entered and critical limits

Revision ID: e5b8c1d7a3f2
Revises: d2a7e5c9b1f4
Create Date: 2026-11-30 09:00:00.000000

The critical limits themselves were already columns of lab_results (initial schema);
the office form now fills them. New here: the value as the office typed it
("1.0 mg/dL", not "1 mg/dL") next to the number used for flags and the chart, and an
idempotency key on lab reports so a retried save stores the report once.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'e5b8c1d7a3f2'
down_revision: Union[str, Sequence[str], None] = 'd2a7e5c9b1f4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _formatted(value: float) -> str:
    # What the pages showed before this column existed (services/labs.format_number).
    return f"{value:.10g}"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('lab_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value_text', sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=True))
    # Existing rows: the entered text is gone, so the text is the number as it was shown.
    conn = op.get_bind()
    results = sa.table('lab_results', sa.column('id', sa.Integer()),
                       sa.column('value', sa.Float()), sa.column('value_text', sa.String()))
    rows = conn.execute(sa.select(results.c.id, results.c.value)).all()
    if rows:
        conn.execute(results.update().where(results.c.id == sa.bindparam('row_id'))
                     .values(value_text=sa.bindparam('text')),
                     [{'row_id': row_id, 'text': _formatted(value)} for row_id, value in rows])
    with op.batch_alter_table('lab_results', schema=None) as batch_op:
        batch_op.alter_column('value_text', existing_type=sqlmodel.sql.sqltypes.AutoString(length=40),
                              nullable=False)
    with op.batch_alter_table('lab_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_key', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        # An index, so SQLite adds it in place: rebuilding lab_reports would trip the
        # foreign keys of its results.
        batch_op.create_index('uq_lab_reports_client_key', ['created_by_user_id', 'client_key'],
                              unique=True)


def downgrade() -> None:
    """Downgrade schema."""
    # In place (SQLite 3.35+ drops a column itself): a rebuilt lab_reports would trip the
    # foreign keys of its results.
    with op.batch_alter_table('lab_reports', schema=None, recreate='never') as batch_op:
        batch_op.drop_index('uq_lab_reports_client_key')
        batch_op.drop_column('client_key')
    with op.batch_alter_table('lab_results', schema=None) as batch_op:
        batch_op.drop_column('value_text')
