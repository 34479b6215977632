"""invitations: the access code a caregiver link needs

Revision ID: d2a7e5c9b1f4
Revises: c4f1a8d2e6b3
Create Date: 2026-12-03 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'd2a7e5c9b1f4'
down_revision: Union[str, Sequence[str], None] = 'c4f1a8d2e6b3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Links sent before this have no code: a pending caregiver link among them can't be
    # used (a forwarded copy would need only the address), and its page asks for a new
    # link. Patient links never have one.
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_code_hash', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('access_code_sealed', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('access_code_sealed')
        batch_op.drop_column('access_code_hash')
