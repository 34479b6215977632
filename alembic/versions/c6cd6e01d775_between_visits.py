"""between visits: symptom check-ins, urgent items, message triage

Revision ID: c6cd6e01d775
Revises: b9e3c5a7d1f2
Create Date: 2026-11-30 18:38:06.185690

Issue #15: check-in plans, check-ins, their answers and unsent answers, urgent items, the practice's
message settings; a conversation's urgency, due time and assignee; the automatic reply.

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


# revision identifiers, used by Alembic.
revision: str = 'c6cd6e01d775'
down_revision: Union[str, Sequence[str], None] = 'b9e3c5a7d1f2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('practice_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Text(), nullable=False),
    sa.Column('holidays', sa.Text(), nullable=False),
    sa.Column('red_flags', sa.Text(), nullable=False),
    sa.Column('routing', sa.Text(), nullable=False),
    sa.Column('after_hours_phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('checkin_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('every_days', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('symptoms', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('stopped_at', sa.DateTime(), nullable=True),
    sa.Column('stopped_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['stopped_by_user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('checkin_plans', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_plans_patient', ['patient_id', 'stopped_at'], unique=False)

    op.create_table('checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('opens_at', sa.DateTime(), nullable=False),
    sa.Column('closes_at', sa.DateTime(), nullable=False),
    sa.Column('symptoms', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('submitted_by_user_id', sa.Integer(), nullable=True),
    sa.Column('submitted_as', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['checkin_plans.id'], ),
    sa.ForeignKeyConstraint(['submitted_by_user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'opens_at', name='uq_checkins_plan_opens')
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_patient_opens', ['patient_id', 'opens_at'], unique=False)
        batch_op.create_index('ix_checkins_status_closes', ['status', 'closes_at'], unique=False)

    op.create_table('checkin_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('symptom', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('checkin_id', 'symptom', name='uq_checkin_answers')
    )
    with op.batch_alter_table('checkin_answers', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_answers_patient', ['patient_id', 'symptom', 'answered_at'], unique=False)

    op.create_table('checkin_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('checkin_id', 'user_id', name='uq_checkin_drafts')
    )
    op.create_table('urgent_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by_user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_user_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.ForeignKeyConstraint(['thread_id'], ['message_threads.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('urgent_items', schema=None) as batch_op:
        batch_op.create_index('ix_urgent_items_open', ['acknowledged_at', 'created_at'], unique=False)
        batch_op.create_index('ix_urgent_items_patient', ['patient_id', 'created_at'], unique=False)

    with op.batch_alter_table('message_threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('assigned_to_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_message_threads_assigned_to', 'users', ['assigned_to_user_id'], ['id'])

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('automatic', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column('author_user_id',
               existing_type=sa.INTEGER(),
               nullable=True)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('author_user_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('automatic')

    with op.batch_alter_table('message_threads', schema=None) as batch_op:
        batch_op.drop_constraint('fk_message_threads_assigned_to', type_='foreignkey')
        batch_op.drop_column('assigned_to_user_id')
        batch_op.drop_column('due_at')
        batch_op.drop_column('urgent')

    with op.batch_alter_table('urgent_items', schema=None) as batch_op:
        batch_op.drop_index('ix_urgent_items_patient')
        batch_op.drop_index('ix_urgent_items_open')

    op.drop_table('urgent_items')
    op.drop_table('checkin_drafts')
    with op.batch_alter_table('checkin_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_answers_patient')

    op.drop_table('checkin_answers')
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index('ix_checkins_status_closes')
        batch_op.drop_index('ix_checkins_patient_opens')

    op.drop_table('checkins')
    with op.batch_alter_table('checkin_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_plans_patient')

    op.drop_table('checkin_plans')
    op.drop_table('practice_settings')
