"""messages: unsent drafts kept for their writer

Revision ID: f3a9d6b2c8e1
Revises: e5b8c1d7a3f2
Create Date: 2026-11-30 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'f3a9d6b2c8e1'
down_revision: Union[str, Sequence[str], None] = 'e5b8c1d7a3f2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    pass


def downgrade() -> None:
    """Downgrade schema."""
    pass
