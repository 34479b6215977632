"""languages: a person's language, a patient's preferred language, an email's (issue #17)

Revision ID: c1e7a4b9d2f6
Revises: e7c3a9f5b2d8
Create Date: 2026-12-01 01:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'c1e7a4b9d2f6'
down_revision: Union[str, Sequence[str], None] = 'e7c3a9f5b2d8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5),
                                      nullable=False, server_default='en'))
        # Nobody has chosen yet: each account takes its browser's language at its next sign-in.
        batch_op.add_column(sa.Column('language_chosen', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5),
                                      nullable=False, server_default='en'))
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=5),
                                      nullable=False, server_default='en'))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('outbox_emails', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language_chosen')
        batch_op.drop_column('language')
