"""audit_events: one word per actor role ("self" rows become "patient")

Revision ID: b9e3c5a7d1f2
Revises: a8d4f2e6c9b3
Create Date: 2026-11-30 12:40:00.000000

Some services wrote a patient acting on their own record as "self" and others as
"patient"; they all write "patient" now (models.AuditEvent.actor_role), and the rows
written before follow, so the office's Audit Log shows one word for one role.
"""
from typing import Sequence, Union

from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'b9e3c5a7d1f2'
down_revision: Union[str, Sequence[str], None] = 'a8d4f2e6c9b3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute("UPDATE audit_events SET actor_role = 'patient' WHERE actor_role = 'self'")


def downgrade() -> None:
    # Nothing to undo: which "patient" rows were once "self" is not recorded, and the
    # older code reads "patient" as well as it read "self".
    pass
