"""sign-in tickets: bound to the browser that signed in

Revision ID: c4f1a8d2e6b3
Revises: b7c2d4e91a05
Create Date: 2026-12-02 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'c4f1a8d2e6b3'
down_revision: Union[str, Sequence[str], None] = 'b7c2d4e91a05'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # Tickets live a minute: one still unused during the upgrade has no nonce and is
    # refused, and its user signs in again.
    with op.batch_alter_table('sign_in_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('browser_nonce_hash', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('sign_in_tickets', schema=None) as batch_op:
        batch_op.drop_column('browser_nonce_hash')
