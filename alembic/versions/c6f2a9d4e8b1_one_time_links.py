"""one-time links (stub — to be written, or deleted if no schema change)

Revision ID: c6f2a9d4e8b1
Revises: b9e3c5a7d1f2
Create Date: 2026-11-30 12:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = 'c6f2a9d4e8b1'
down_revision: Union[str, Sequence[str], None] = 'b9e3c5a7d1f2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
