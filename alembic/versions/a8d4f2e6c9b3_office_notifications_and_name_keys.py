"""patients: accent-folded first name key; staff notification choice

Revision ID: a8d4f2e6c9b3
Revises: f3a9d6b2c8e1
Create Date: 2026-11-30 09:00:00.000000

"""
import unicodedata
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'a8d4f2e6c9b3'
down_revision: Union[str, Sequence[str], None] = 'f3a9d6b2c8e1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _fold(text):
    # A frozen copy of models.fold_name: a migration keeps meaning what it meant when written.
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", bare).strip().casefold()[:100]


def _patients():
    return sa.table('patients', sa.column('id', sa.Integer()),
                    sa.column('first_name', sa.String()), sa.column('last_name', sa.String()),
                    sa.column('first_name_key', sa.String()),
                    sa.column('last_name_key', sa.String()))


def upgrade() -> None:
    """Upgrade schema."""
    # Every staff member starts with "Email me when a patient sends a message" on.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_on_patient_message', sa.Boolean(),
                                      server_default=sa.true(), nullable=False))
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_name_key',
                                      sqlmodel.sql.sqltypes.AutoString(length=100),
                                      server_default='', nullable=False))
    # Existing records: both keys folded the new way (accents aside), so search finds them.
    patients = _patients()
    connection = op.get_bind()
    rows = connection.execute(sa.select(patients.c.id, patients.c.first_name,
                                        patients.c.last_name)).all()
    for row in rows:
        connection.execute(patients.update().where(patients.c.id == row.id).values(
            first_name_key=_fold(row.first_name), last_name_key=_fold(row.last_name)))
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index('ix_patients_first_name_key', ['first_name_key'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    # The earlier last-name key kept accents (NFKC + casefold).
    patients, connection = _patients(), op.get_bind()
    for row in connection.execute(sa.select(patients.c.id, patients.c.last_name)).all():
        connection.execute(patients.update().where(patients.c.id == row.id).values(
            last_name_key=unicodedata.normalize("NFKC", row.last_name or "").strip().casefold()))
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index('ix_patients_first_name_key')
        batch_op.drop_column('first_name_key')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_on_patient_message')
