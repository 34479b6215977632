"""two-step sign-in: authenticator keys, recovery codes, the password-passed step

Revision ID: e7d3b1a9c5f2
Revises: 208cbab116f3
Create Date: 2026-12-01 01:00:00

Issue #17: a person's TOTP key (sealed), their single-use recovery codes (hashed), and the
few minutes between a right password and the code. Everyone starts with the second step off.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = 'e7d3b1a9c5f2'
down_revision: Union[str, Sequence[str], None] = '208cbab116f3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('two_step_since', sa.DateTime(), nullable=True))
    op.create_table('two_step_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sealed_secret', sa.Text(), nullable=True),
    sa.Column('sealed_pending', sa.Text(), nullable=True),
    sa.Column('last_step', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id')
    )
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index('ix_recovery_codes_user', ['user_id', 'used_at'], unique=False)
    op.create_table('two_step_pending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('superseded_at', sa.DateTime(), nullable=True),
    sa.Column('passed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('two_step_pending', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_two_step_pending_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('two_step_pending', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_two_step_pending_user_id'))
    op.drop_table('two_step_pending')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_recovery_codes_user')
    op.drop_table('recovery_codes')
    op.drop_table('two_step_keys')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('two_step_since')
