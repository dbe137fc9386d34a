"""Accounts with roles and cohorts, sessions owned by learners, stored evaluations with
their progress, and faculty ratings for calibration.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("cohorts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    # SQLite: a plain ADD COLUMN with a REFERENCES clause (allowed for a nullable column),
    # not a batch copy of the table, which would have to drop the table every turn refers
    # to. Other databases add the column and the constraint the usual way.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE sessions ADD COLUMN learner_id INTEGER REFERENCES users (id)")
    else:
        op.add_column("sessions", sa.Column("learner_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_sessions_learner", "sessions", "users", ["learner_id"], ["id"])
    op.create_index("ix_sessions_learner_id", "sessions", ["learner_id"])
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(32), sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("report_html", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_evaluations_session_id", "evaluations", ["session_id"])
    op.create_table(
        "faculty_ratings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("rubric", sa.String(64), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("rater", sa.String(128), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_faculty_ratings_session_id", "faculty_ratings", ["session_id"])


def downgrade() -> None:
    op.drop_table("faculty_ratings")
    op.drop_table("evaluations")
    op.drop_index("ix_sessions_learner_id", "sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("learner_id")
    op.drop_table("users")
