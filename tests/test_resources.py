"""The Resources tab: default links once, staff-only changes, and only real web addresses."""
from __future__ import annotations

import pytest
from sqlmodel import select

from carespace_app.models import AuditEvent, Resource
from carespace_app.services.records import resources
from carespace_app.services.errors import NotAllowed, ValidationError
from tests.factories import make_patient, make_staff, patient_user


@pytest.fixture
def staff(db):
    return make_staff(db)


def titles(db):
    return [r.title for r in resources.list_resources(db)]


def add(db, staff, clock, title, url="https://example.org/help"):
    return resources.create_resource(db, staff, title=title, url=url, clock=clock)


def test_default_links_are_added_once(db, clock):
    assert resources.ensure_default_resources(db, clock=clock) == 3
    assert resources.ensure_default_resources(db, clock=clock) == 0
    listed = resources.list_resources(db)
    assert [(r.title, r.url) for r in listed] == [
        ("National Cancer Institute", "https://www.cancer.gov"),
        ("American Cancer Society", "https://www.cancer.org"),
        ("CancerCare", "https://www.cancercare.org"),
    ]
    assert all(r.description.endswith(".") for r in listed)


def test_links_the_office_deleted_do_not_come_back_on_restart(db, clock, staff):
    resources.ensure_default_resources(db, clock=clock)
    for resource in resources.list_resources(db):
        resources.delete_resource(db, staff, resource.id, clock=clock)
    assert resources.ensure_default_resources(db, clock=clock) == 0
    assert resources.list_resources(db) == []


def test_an_existing_list_is_left_alone(db, clock, staff):
    add(db, staff, clock, "Our own page")
    assert resources.ensure_default_resources(db, clock=clock) == 0
    assert titles(db) == ["Our own page"]


@pytest.mark.parametrize("url", [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "/resources/local",
    "www.cancer.gov",
    "ftp://files.example.org",
    "https://",
    "https://www.cancer.gov@evil.example",
    "https://exa mple.org",
    "",
    None,
])
def test_only_web_addresses_are_accepted(db, clock, staff, url):
    with pytest.raises(ValidationError) as refused:
        add(db, staff, clock, "Sneaky", url=url)
    assert refused.value.field == "url"
    assert refused.value.message == "Enter a web address that starts with https://"
    assert db.exec(select(Resource)).all() == []


def test_plain_http_and_https_links_are_kept_as_typed(db, clock, staff):
    first = add(db, staff, clock, "Local support group", url="  http://support.example.org/meetings?day=tue ")
    assert db.get(Resource, first).url == "http://support.example.org/meetings?day=tue"


def test_title_rules(db, clock, staff):
    for title in ("", "   ", "t" * 201):
        with pytest.raises(ValidationError) as refused:
            add(db, staff, clock, title)
        assert refused.value.field == "title"


def test_staff_edit_delete_and_reorder(db, clock, staff):
    a, b, c = (add(db, staff, clock, name) for name in ("A", "B", "C"))
    resources.move_resource(db, staff, c, "up", clock=clock)
    assert titles(db) == ["A", "C", "B"]
    resources.move_resource(db, staff, a, "up", clock=clock)  # already first: stays
    resources.move_resource(db, staff, a, "down", clock=clock)
    assert titles(db) == ["C", "A", "B"]
    resources.update_resource(db, staff, b, title="B renamed", url="https://b.example.org",
                              description="Now with a description.", clock=clock)
    resources.delete_resource(db, staff, a, clock=clock)
    assert [(r.title, r.description) for r in resources.list_resources(db)] == [
        ("C", ""), ("B renamed", "Now with a description.")]
    actions = [e.action for e in db.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert actions == ["resource.created"] * 3 + ["resource.moved"] * 3 + [
        "resource.updated", "resource.deleted"]
    assert all(e.patient_id is None for e in db.exec(select(AuditEvent)).all())


def test_patients_cannot_change_the_list(db, clock, staff):
    patient = patient_user(db, make_patient(db))
    link = add(db, staff, clock, "Keep me")
    with pytest.raises(NotAllowed):
        add(db, patient, clock, "Mine")
    with pytest.raises(NotAllowed):
        resources.update_resource(db, patient, link, title="Hacked", url="https://evil.example",
                                  clock=clock)
    with pytest.raises(NotAllowed):
        resources.delete_resource(db, patient, link, clock=clock)
    with pytest.raises(NotAllowed):
        resources.move_resource(db, patient, link, "down", clock=clock)
    assert titles(db) == ["Keep me"]
