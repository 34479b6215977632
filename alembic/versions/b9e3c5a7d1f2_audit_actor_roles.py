"""audit_events: one word per actor role (stub — to be written)

Revision ID: b9e3c5a7d1f2
Revises: a8d4f2e6c9b3
Create Date: 2026-11-30 12:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = 'b9e3c5a7d1f2'
down_revision: Union[str, Sequence[str], None] = 'a8d4f2e6c9b3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
