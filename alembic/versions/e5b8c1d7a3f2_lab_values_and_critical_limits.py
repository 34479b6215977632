"""labs: values as entered and critical limits

Revision ID: e5b8c1d7a3f2
Revises: d2a7e5c9b1f4
Create Date: 2026-11-30 09:00:00.000000

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


def upgrade() -> None:
    """Upgrade schema."""
    pass


def downgrade() -> None:
    """Downgrade schema."""
    pass
