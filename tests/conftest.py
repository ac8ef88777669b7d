from __future__ import annotations

from typing import Any

import pytest

from tests import factories as f


@pytest.fixture(autouse=True)
def _reference_data(request: Any) -> None:
    """Transactional tests (live server, browser) empty every table when they end,
    including the reference rows that migrations load; put them back first."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        return
    request.getfixturevalue("transactional_db")
    from accord.membership.models import Sector, Task
    from accord.membership.taxonomy import sync_reference_data
    from accord.rules.models import RuleDocument

    sync_reference_data(Sector, Task)
    for kind in RuleDocument.Kind:
        RuleDocument.objects.get_or_create(kind=kind.value, defaults={"title": str(kind.label)})


@pytest.fixture
def client(client: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """A test client whose requests run their on-commit callbacks, as a real commit
    would: services queue e-mail and tasks only once their transaction commits."""
    send = client.request

    def request(**kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return send(**kwargs)

    client.request = request
    return client


@pytest.fixture
def coordinator(db: Any) -> Any:
    return f.make_user("coord", coordinator=True, full_name="Cora Coordinator")


@pytest.fixture
def rules(db: Any) -> list:
    return f.publish_rules()


@pytest.fixture
def member_org(db: Any, rules: list) -> Any:
    """A verified organisation that accepted the current rules."""
    org = f.make_organisation("Energy Company", sectors=["energy"])
    f.accept_rules(org)
    return org


@pytest.fixture
def analyst(member_org: Any) -> Any:
    user = f.make_user("ana", full_name="Ana Analyst")
    f.add_member(user, member_org, analyst=True)
    return user


@pytest.fixture
def representative(member_org: Any) -> Any:
    user = f.make_user("rep", full_name="Rita Representative")
    f.add_member(user, member_org, representative=True, analyst=False, admin=True)
    return user
