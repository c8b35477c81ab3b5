"""The REST API, ``/api/v1``: what the dashboard shows, for scripts and integrators.

Every call needs an API token (``Authorization: Bearer``) and sees only its account: records
are reached through ``store.scope.AccountScope``, so another account's record answers 404 like
one that does not exist. Credentials can be written, never read. Errors are problem documents
(RFC 9457); the OpenAPI document is at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kobling.connectors import registry
from kobling.domain.serialize import to_jsonable
from kobling.engine import actions
from kobling.engine.runtime import runtime
from kobling.engine.settings import (
    SettingsError,
    base_url_problem,
    validate_connection_settings,
    validate_credentials,
)
from kobling.engine.system_checks import check_system
from kobling.store import people
from kobling.store import repository as repo
from kobling.store.models import Connection, Integration, System, Transfer
from kobling.store.scope import AccountScope
from kobling.web.problems import PROBLEM, Problem
from kobling.web.security import api_person, require_write

Person = Annotated[people.Person, Depends(api_person)]
# Record ids are database integers (32-bit in PostgreSQL): anything else is refused as input
# (422) before it reaches a query; schemathesis found the 500 a huge id used to give.
T = TypeVar("T")
MAX_ID = 2_147_483_647
RecordId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": title, "content": {PROBLEM: {}}}
    for status, title in ((401, "Not signed in"), (403, "Not allowed"), (404, "Not found"))
}

router = APIRouter(prefix="/api/v1", responses=ERRORS)


def scope(person: people.Person) -> AccountScope:
    return AccountScope(runtime().db, person.account_id)


# -- shapes ------------------------------------------------------------------------------------


class Me(BaseModel):
    id: int
    email: str
    role: str
    account_id: int


class ConnectionOut(BaseModel):
    id: int
    name: str
    integration_id: int
    entity: str
    action: str
    active: bool
    source_system_id: int
    target_system_id: int
    settings: dict[str, Any]


class IntegrationOut(BaseModel):
    id: int
    name: str
    active: bool
    start_date: datetime | None


class SystemOut(BaseModel):
    id: int
    integration_id: int
    kind: str
    title: str
    name: str
    base_url: str
    credentials: Literal["set"] = Field(
        description="Credentials are write-only: the API says they are set, never what they are"
    )


class TransferOut(BaseModel):
    id: int
    key: str
    connection_id: int
    source_id: str
    number: str
    state: str
    outcome: str | None
    stage: str
    reason: str
    fix: str
    document: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime


class SnapshotOut(BaseModel):
    stage: str
    created_at: datetime
    data: dict[str, Any]


class TransferDetail(TransferOut):
    snapshots: list[SnapshotOut]


class ReceiptOut(BaseModel):
    id: int
    connection_id: int
    topic: str
    object_id: str | None
    status: str
    detail: str
    received_at: datetime


class UsageOut(BaseModel):
    outcomes: dict[str, int]
    months: list[dict[str, Any]]


class Accepted(BaseModel):
    id: int
    action: str
    detail: str


class Credentials(BaseModel):
    credentials: dict[str, Any]


class NewSystem(Credentials):
    integration_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    kind: str = Field(max_length=50, description="A connector kind")
    name: str = Field(min_length=1, max_length=200)
    base_url: str = Field(min_length=1, max_length=500)


class SystemChange(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    base_url: str | None = Field(default=None, min_length=1, max_length=500)


class CheckOut(BaseModel):
    ok: bool
    code: str
    detail: str
    fix: str


def _connection(c: Connection) -> ConnectionOut:
    return ConnectionOut(
        id=c.id,
        name=c.name,
        integration_id=c.integration_id,
        entity=c.entity,
        action=c.action,
        active=c.active,
        source_system_id=c.source_system_id,
        target_system_id=c.target_system_id,
        settings=c.settings,
    )


def _integration(i: Integration) -> IntegrationOut:
    return IntegrationOut(id=i.id, name=i.name, active=i.active, start_date=i.start_date)


def _system(s: System) -> SystemOut:
    title = registry.get(s.kind).title
    return SystemOut(
        id=s.id,
        integration_id=s.integration_id,
        kind=s.kind,
        title=title,
        name=s.name,
        base_url=s.base_url,
        credentials="set",
    )


def transfer_row(t: Transfer) -> dict[str, Any]:
    """A transfer as the API and the dashboard show it."""
    return {
        "id": t.id,
        "key": t.key,
        "connection_id": t.connection_id,
        "source_id": t.source_id,
        "number": t.source_number,
        "state": t.state,
        "outcome": t.outcome,
        "stage": t.stage,
        "reason": t.reason,
        "fix": t.fix,
        "document": t.target_document_id,
        "attempts": t.attempts,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }


def _missing(what: str, ident: int) -> Problem:
    return Problem(
        404,
        f"{what} {ident} does not exist in this account",
        fix=f"list them with GET /api/v1/{what}s and use one of their ids",
    )


def _exists(found: T | None, what: str, ident: int) -> T:
    """The record, or the API's 404 for it."""
    if found is None:
        raise _missing(what, ident)
    return found


# -- endpoints ---------------------------------------------------------------------------------


@router.get("/me", response_model=Me)
def me(person: Person) -> Me:
    return Me(id=person.id, email=person.email, role=person.role, account_id=person.account_id)


@router.get("/integrations", response_model=list[IntegrationOut])
def integrations(person: Person) -> list[IntegrationOut]:
    return [_integration(i) for i in scope(person).integrations()]


@router.get("/integrations/{integration_id}", response_model=IntegrationOut)
def integration(integration_id: RecordId, person: Person) -> IntegrationOut:
    found = _exists(scope(person).integration(integration_id), "integration", integration_id)
    return _integration(found)


@router.post("/integrations/{integration_id}/{switch}", response_model=IntegrationOut)
def switch_integration(
    integration_id: RecordId, switch: Literal["activate", "deactivate"], person: Person
) -> IntegrationOut:
    require_write(person)
    account = scope(person)
    if not account.set_integration_active(integration_id, switch == "activate"):
        raise _missing("integration", integration_id)
    found = account.integration(integration_id)
    assert found is not None
    return _integration(found)


@router.get("/systems", response_model=list[SystemOut])
def systems(person: Person) -> list[SystemOut]:
    return [_system(s) for s in scope(person).systems()]


@router.get("/systems/{system_id}", response_model=SystemOut)
def system(system_id: RecordId, person: Person) -> SystemOut:
    found = _exists(scope(person).system(system_id), "system", system_id)
    return _system(found)


@router.put("/systems/{system_id}/credentials", response_model=SystemOut)
def set_credentials(system_id: RecordId, body: Credentials, person: Person) -> SystemOut:
    """Replace a system's credentials (validated against its connector; never echoed)."""
    require_write(person)
    account = scope(person)
    found = _exists(account.system(system_id), "system", system_id)
    _check_credentials(found.kind, body.credentials)
    rt = runtime()
    repo.set_system_credentials(rt.db, rt.box, found.id, body.credentials)
    return _system(found)


@router.post("/systems", response_model=SystemOut, status_code=201)
def add_system(body: NewSystem, person: Person) -> SystemOut:
    """Add a system to one of the account's integrations (credentials checked, never echoed)."""
    require_write(person)
    kinds = sorted(spec.kind for spec in registry.all_specs())
    if body.kind not in kinds:
        raise Problem(422, f"there is no connector {body.kind!r}", fix=f"use one of {kinds}")
    _check_url(body.base_url)
    _check_credentials(body.kind, body.credentials)
    account = scope(person)
    system_id = account.add_system(
        runtime().box,
        integration_id=body.integration_id,
        kind=body.kind,
        name=body.name,
        base_url=body.base_url,
        credentials=body.credentials,
    )
    if system_id is None:
        raise _missing("integration", body.integration_id)
    found = account.system(system_id)
    assert found is not None
    return _system(found)


@router.patch("/systems/{system_id}", response_model=SystemOut)
def change_system(system_id: RecordId, body: SystemChange, person: Person) -> SystemOut:
    require_write(person)
    account = scope(person)
    found = _exists(account.system(system_id), "system", system_id)
    if body.base_url is not None:
        _check_url(body.base_url)
    account.update_system(
        system_id, name=body.name or found.name, base_url=body.base_url or found.base_url
    )
    changed = account.system(system_id)
    assert changed is not None
    return _system(changed)


@router.post("/systems/{system_id}/test", response_model=CheckOut)
async def test_system(system_id: RecordId, person: Person) -> CheckOut:
    """Test the connection: one cheap authenticated read of the remote system, recorded."""
    require_write(person)
    if scope(person).system(system_id) is None:
        raise _missing("system", system_id)
    result = await run_in_threadpool(check_system, system_id)
    return CheckOut(ok=result.ok, code=result.code, detail=result.detail, fix=result.fix)


def _check_url(base_url: str) -> None:
    problem = base_url_problem(base_url)
    if problem:
        reason, fix = problem.split(": ", 1)
        raise Problem(422, f"base_url: {reason}", fix=fix)


def _check_credentials(kind: str, credentials: dict[str, Any]) -> None:
    try:
        validate_credentials(kind, credentials)
    except SettingsError as error:
        fields = ", ".join(sorted(registry.get(kind).credentials_model.model_fields))
        raise Problem(422, str(error), fix=f"send the fields {fields}") from error


@router.get("/connections", response_model=list[ConnectionOut])
def connections(person: Person) -> list[ConnectionOut]:
    return [_connection(c) for c in scope(person).connections()]


@router.get("/connections/{connection_id}", response_model=ConnectionOut)
def connection(connection_id: RecordId, person: Person) -> ConnectionOut:
    found = _exists(scope(person).connection(connection_id), "connection", connection_id)
    return _connection(found)


@router.post("/connections/{connection_id}/{switch}", response_model=ConnectionOut)
def switch_connection(
    connection_id: RecordId, switch: Literal["activate", "deactivate"], person: Person
) -> ConnectionOut:
    require_write(person)
    account = scope(person)
    if not account.set_connection_active(connection_id, switch == "activate"):
        raise _missing("connection", connection_id)
    found = account.connection(connection_id)
    assert found is not None
    return _connection(found)


@router.put("/connections/{connection_id}/settings", response_model=ConnectionOut)
def connection_settings(
    connection_id: RecordId, settings: dict[str, Any], person: Person
) -> ConnectionOut:
    """Replace the settings; validated by the source's and target's settings schemas."""
    require_write(person)
    account = scope(person)
    found = _exists(account.connection(connection_id), "connection", connection_id)
    source_kind, target_kind = account.connection_kinds(found)
    try:
        valid = validate_connection_settings(source_kind, target_kind, settings)
    except SettingsError as error:
        raise Problem(
            422, str(error), fix="correct the fields named, or leave them out for the defaults"
        ) from error
    account.set_connection_settings(connection_id, valid)
    updated = account.connection(connection_id)
    assert updated is not None
    return _connection(updated)


@router.get("/transfers", response_model=list[TransferOut])
def transfers(
    person: Person,
    outcome: Literal["done", "skipped", "held", "failed"] | None = None,
    state: Literal["new", "queued", "running", "settled"] | None = None,
    number: Annotated[str | None, Query(max_length=100)] = None,
    connection: QueryId = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[dict[str, Any]]:
    rows = scope(person).transfers(
        limit=limit,
        offset=offset,
        outcome=outcome,
        state=state,
        number=number,
        connection_id=connection,
        since=since,
        until=until,
    )
    return [transfer_row(t) for t in rows]


@router.get("/transfers/{transfer_id}", response_model=TransferDetail)
def transfer(transfer_id: RecordId, person: Person) -> dict[str, Any]:
    account = scope(person)
    found = account.transfer(transfer_id)
    snapshots = account.snapshots(transfer_id)
    if found is None or snapshots is None:
        raise _missing("transfer", transfer_id)
    return {
        **transfer_row(found),
        "snapshots": [
            {"stage": s.stage, "created_at": s.created_at, "data": to_jsonable(s.data)}
            for s in snapshots
        ],
    }


@router.post("/transfers/{transfer_id}/{action}", response_model=Accepted, status_code=202)
async def transfer_action(
    transfer_id: RecordId, action: Literal["retry", "retransfer", "skip"], person: Person
) -> Accepted:
    require_write(person)
    found = _exists(scope(person).transfer(transfer_id), "transfer", transfer_id)
    do = {"retry": actions.retry, "retransfer": actions.retransfer, "skip": actions.skip}[action]
    try:
        await run_in_threadpool(do, found, person.email)
    except actions.ActionRefused as refused:
        raise Problem(409, refused.reason, fix=refused.fix) from refused
    return Accepted(id=transfer_id, action=action, detail=f"{action} accepted")


@router.get("/receipts", response_model=list[ReceiptOut])
def receipts(
    person: Person,
    connection: QueryId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ReceiptOut]:
    rows = scope(person).receipts([connection] if connection is not None else None, limit)
    return [
        ReceiptOut(
            id=r.id,
            connection_id=r.connection_id,
            topic=r.topic,
            object_id=r.object_id,
            status=r.status,
            detail=r.detail,
            received_at=r.received_at,
        )
        for r in rows
    ]


@router.get("/usage", response_model=UsageOut)
def usage(person: Person) -> UsageOut:
    account = scope(person)
    return UsageOut(outcomes=account.outcome_counts(), months=account.usage())
