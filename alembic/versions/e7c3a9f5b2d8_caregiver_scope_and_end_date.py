"""caregiver access the patient shapes: a scope and an optional end date

Revision ID: e7c3a9f5b2d8
Revises: e7d3b1a9c5f2
Create Date: 2026-12-01 01:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'e7c3a9f5b2d8'
down_revision: Union[str, Sequence[str], None] = 'e7d3b1a9c5f2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Every existing grant keeps today's behaviour: full access, no end.
    with op.batch_alter_table('patient_access', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default='full'))
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))
    with op.batch_alter_table('caregiver_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default='full'))
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('end_notice_sent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ended_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('caregiver_grants', schema=None) as batch_op:
        batch_op.drop_column('ended_at')
        batch_op.drop_column('end_notice_sent_at')
        batch_op.drop_column('ends_on')
        batch_op.drop_column('scope')
    with op.batch_alter_table('patient_access', schema=None) as batch_op:
        batch_op.drop_column('ends_on')
        batch_op.drop_column('scope')
