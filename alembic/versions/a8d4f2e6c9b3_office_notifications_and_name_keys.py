"""patients: accent-folded first name key; staff notification choice

Revision ID: a8d4f2e6c9b3
Revises: f3a9d6b2c8e1
Create Date: 2026-11-30 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel

# revision identifiers, used by Alembic.
revision: str = 'a8d4f2e6c9b3'
down_revision: Union[str, Sequence[str], None] = 'f3a9d6b2c8e1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    pass


def downgrade() -> None:
    """Downgrade schema."""
    pass
