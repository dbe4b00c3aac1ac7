"""Trunks, scripts, campaigns and their lifecycle, customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, col, select

from callbot.store import repo
from callbot.store.errors import CampaignStateRefused, InvalidData, NotFound
from callbot.store.models import (
    Campaign,
    CampaignCreate,
    CampaignCustomer,
    CampaignState,
    Customer,
    CustomerCreate,
    ScriptFormat,
    TrunkCreate,
    TrunkPublic,
)
from callbot.store.retry import RetryRules
from scripts_dsl.status import CustomerStatus
from store_helpers import NOW, phone


def test_trunk_password_is_stored_but_not_public(session: Session) -> None:
    trunk = repo.create_trunk(session, TrunkCreate(name="viettel", host="127.0.0.1",
                                                   username="u", password="s3cret"), now=NOW)
    assert trunk.password == "s3cret"
    assert "password" not in TrunkPublic.model_validate(trunk).model_dump()
    with pytest.raises(InvalidData, match="name: a trunk called 'viettel' already exists"):
        repo.create_trunk(session, TrunkCreate(name="viettel", host="h"), now=NOW)


def test_same_script_version_is_stored_once(session: Session) -> None:
    first = repo.create_script_version(session, "welcome", "a: 1", ScriptFormat.YAML, "v1",
                                       now=NOW)
    again = repo.create_script_version(session, "welcome", "a:   1", ScriptFormat.YAML, "v1",
                                       now=NOW)
    other = repo.create_script_version(session, "welcome", "a: 2", ScriptFormat.JSON, "v2",
                                       now=NOW)
    assert again.id == first.id
    assert other.id != first.id and other.script_id == first.script_id
    with pytest.raises(InvalidData, match="passed validation"):
        repo.create_script_version(session, "welcome", "x", ScriptFormat.YAML, "", now=NOW)


def test_campaign_settings_are_validated_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        CampaignCreate(name="c", timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="hours_start"):
        CampaignCreate(name="c", hours_start="25:00")
    with pytest.raises(ValidationError, match="calling_days"):
        CampaignCreate(name="c", calling_days=[0])
    assert CampaignCreate(name="c", calling_days=[7, 1, 1]).calling_days == [1, 7]


def test_campaign_round_trips_its_settings_and_times(session: Session) -> None:
    rules = RetryRules.model_validate({"busy": {"max": 5, "after_s": 60}})
    created = repo.create_campaign(session, CampaignCreate(name="c", retry_rules=rules),
                                   now=NOW.astimezone(timezone(timedelta(hours=7))))
    session.expire_all()
    campaign = session.get(Campaign, created.id)
    assert campaign is not None
    assert campaign.retry_rules == rules
    assert campaign.created_at == NOW and campaign.created_at.tzinfo is UTC
    assert campaign.state is CampaignState.DRAFT


def test_naive_times_are_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        repo.create_campaign(session, CampaignCreate(name="c"), now=datetime(2025, 1, 1))


def test_lifecycle_pins_the_script_version_when_started(session: Session) -> None:
    v1 = repo.create_script_version(session, "s", "a", ScriptFormat.YAML, "v1", now=NOW)
    campaign = repo.create_campaign(session, CampaignCreate(name="c", script_id=v1.script_id),
                                    now=NOW)
    assert campaign.id is not None
    v2 = repo.create_script_version(session, "s", "b", ScriptFormat.YAML, "v2", now=NOW)
    repo.move_campaign(session, campaign.id, CampaignState.RUNNING, now=NOW)
    repo.create_script_version(session, "s", "c", ScriptFormat.YAML, "v3", now=NOW)
    repo.move_campaign(session, campaign.id, CampaignState.PAUSED, now=NOW)
    later = NOW + timedelta(hours=1)
    moved = repo.move_campaign(session, campaign.id, CampaignState.RUNNING, now=later)
    assert moved.script_version_id == v2.id
    assert moved.started_at == NOW
    done = repo.move_campaign(session, campaign.id, CampaignState.COMPLETED, now=later)
    assert done.finished_at == later
    with pytest.raises(CampaignStateRefused, match="from completed it can go to: nothing"):
        repo.move_campaign(session, campaign.id, CampaignState.RUNNING, now=later)


def test_a_campaign_without_script_cannot_start(session: Session) -> None:
    campaign = repo.create_campaign(session, CampaignCreate(name="c"), now=NOW)
    assert campaign.id is not None
    with pytest.raises(CampaignStateRefused, match="it has no script"):
        repo.move_campaign(session, campaign.id, CampaignState.RUNNING, now=NOW)
    with pytest.raises(CampaignStateRefused, match="draft to paused"):
        repo.move_campaign(session, campaign.id, CampaignState.PAUSED, now=NOW)
    with pytest.raises(NotFound, match="campaign 999"):
        repo.move_campaign(session, 999, CampaignState.RUNNING, now=NOW)


def test_references_must_exist(session: Session) -> None:
    with pytest.raises(NotFound, match="Script 42"):
        repo.create_campaign(session, CampaignCreate(name="c", script_id=42), now=NOW)


def test_add_customers_in_bulk_returns_ids_in_order(session: Session) -> None:
    campaign = repo.create_campaign(session, CampaignCreate(name="c"), now=NOW)
    assert campaign.id is not None
    count = 12_000
    ids = repo.add_customers(session, campaign.id, [
        CustomerCreate(name=f"n{i}", phone=phone(i), extra={"row": i}) for i in range(count)],
        now=NOW)
    assert len(ids) == len(set(ids)) == count
    rows = session.execute(
        sa.select(col(CampaignCustomer.id), col(Customer.name), col(Customer.extra),
                  col(CampaignCustomer.status))
        .join(Customer, col(Customer.id) == col(CampaignCustomer.customer_id))
        .where(col(CampaignCustomer.id).in_(ids[:3] + ids[-2:]))).all()
    by_id = {r[0]: r for r in rows}
    for index in (0, 1, 2, count - 2, count - 1):
        row = by_id[ids[index]]
        assert row[1] == f"n{index}" and row[2] == {"row": index}
        assert row[3] is CustomerStatus.REGISTERED


def test_customers_need_e164_numbers() -> None:
    with pytest.raises(ValidationError, match="E.164"):
        CustomerCreate(name="x", phone="0912345678")
    with pytest.raises(ValidationError, match="time zone"):
        CustomerCreate(name="x", phone="+84912345678", timezone="Nowhere/City")


def test_adding_to_a_missing_campaign_adds_nothing(session: Session) -> None:
    with pytest.raises(NotFound):
        repo.add_customers(session, 7, [CustomerCreate(phone=phone(1))], now=NOW)
    assert session.exec(select(Customer)).all() == []
