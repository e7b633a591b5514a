"""Campaign review lessons (经验总结): what the team wrote after the review meeting.

One row per campaign with three answers (what worked, what did not, what to do differently
next time). The campaign review report shows the stored text; an edit names the version it
started from, so two people editing at once cannot overwrite each other, and every change is
in the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, delete, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from growthloop.accounts import Account
from growthloop.ops import audit
from growthloop.ops.models import Campaign
from growthloop.ops.targets import TargetError
from growthloop.store.metadata import Base, utcnow
from growthloop.workspace import Workspace

LESSON_FIELDS = ("worked", "failed", "next_steps")
"""The three questions of the lessons section, in the order the report shows them."""
MAX_LESSON = 20000


class CampaignLessons(Base):
    """The lessons of one campaign's review."""

    __tablename__ = "ops_campaign_lessons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("ops_campaigns.id", ondelete="CASCADE"), unique=True
    )
    worked: Mapped[str] = mapped_column(Text, default="")
    failed: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    version: Mapped[int] = mapped_column(Integer)
    # version_id_col: every UPDATE says WHERE version = the one read
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def answers(self) -> dict[str, str]:
        """Question -> stored text."""
        return {f: getattr(self, f) for f in LESSON_FIELDS}


@event.listens_for(Campaign, "after_delete")
def _delete_with_campaign(mapper: Any, connection: Connection, campaign: Campaign) -> None:
    """A deleted campaign's lessons go with it, also on SQLite, which does not enforce the
    foreign key's ON DELETE CASCADE (and reuses the id of the last row for the next one)."""
    connection.execute(delete(CampaignLessons).where(CampaignLessons.campaign_id == campaign.id))


def _campaign(s: Session, project_id: int, campaign_id: int) -> Campaign:
    found = s.get(Campaign, campaign_id)
    if found is None or found.project_id != project_id:
        raise audit.NotFound(f"campaign_id: no campaign {campaign_id} in this project")
    return found


def get_lessons(ws: Workspace, project_id: int, campaign_id: int) -> CampaignLessons | None:
    """The campaign's lessons, or None when nobody wrote any yet; NotFound for no campaign."""
    with ws.sessions() as s:
        _campaign(s, project_id, campaign_id)
        return s.scalar(select(CampaignLessons).where(CampaignLessons.campaign_id == campaign_id))


def lesson_answers(ws: Workspace, project_id: int, campaign_id: int) -> dict[str, str]:
    """The three answers as text ("" where nothing is written), for the report."""
    found = get_lessons(ws, project_id, campaign_id)
    return found.answers() if found else {f: "" for f in LESSON_FIELDS}


def _check(values: dict[str, str]) -> None:
    for field, text in values.items():
        if field not in LESSON_FIELDS:
            raise TargetError(f"{field}: not one of {', '.join(LESSON_FIELDS)}")
        if len(text) > MAX_LESSON:
            raise TargetError(f"{field}: {len(text)} characters, at most {MAX_LESSON}")


def save_lessons(
    ws: Workspace,
    project_id: int,
    who: Account,
    campaign_id: int,
    version: int,
    values: dict[str, str],
) -> CampaignLessons:
    """Write the answers given in `values`; `version` is the one the edit started from (0 when
    there were no lessons yet). Conflict when someone saved in between."""
    _check(values)
    try:
        with ws.sessions.begin() as s:
            _campaign(s, project_id, campaign_id)
            row = s.scalar(
                select(CampaignLessons).where(CampaignLessons.campaign_id == campaign_id)
            )
            if row is None:
                if version != 0:
                    raise audit.Conflict(
                        f"version: campaign {campaign_id} has no lessons yet; send version 0"
                    )
                now = utcnow()
                row = CampaignLessons(
                    campaign_id=campaign_id,
                    **{f: values.get(f, "") for f in LESSON_FIELDS},
                    updated_by=who.name,
                    created_at=now,
                    updated_at=now,
                )
                s.add(row)
                s.flush()
                changes = audit.created(row, LESSON_FIELDS)
                audit.record(s, project_id, who, "campaign_lessons", campaign_id, "create", changes)
                return row
            what = f"the lessons of campaign {campaign_id}"
            changes = audit.apply_update(row, what, version, values)
            if changes:
                row.updated_by = who.name
                audit.record(s, project_id, who, "campaign_lessons", campaign_id, "update", changes)
            return row
    except (StaleDataError, IntegrityError):
        raise audit.Conflict(
            f"version: the lessons of campaign {campaign_id} were saved by someone else while"
            " you saved; reload them and apply your change again"
        ) from None
