"""``kobling explain``: why an order was transferred, or why not, in a shop owner's words.

The checks run in this order, and the first that explains the order answers (its verdict):

    1. the integration and the connection are on     integration_inactive, connection_inactive
    2. the shop answers with the stored credentials  source_credentials, source_unreachable
    3. the shop has an order with that number        not_found (unreadable: it cannot be read)
    4. its state is one of the eligible states       not_eligible
    5. it was created on or after the start date     before_start
    6. no filter rule left it out                    filtered
    7. it is not in the target already               in_target
    8-11. Kobling's transfer of it                   held, failed, in_progress, done
    none of these                                    not_yet_seen (skipped: a person left it out)

Checks 4 to 7 ask why an order was *not* transferred: once Kobling's transfer is done or under
way they are noted but do not answer (an invoiced order later refunded is still invoiced).
Nothing is written anywhere; the shop and the target are only read, and a failing remote
becomes an explanation, never a traceback. No secret of the credentials appears in the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from kobling.connectors import registry
from kobling.connectors.base import (
    OrderNumberLookup,
    OrderSource,
    TargetDocument,
    secret_values,
    sentence,
    shown_url,
)
from kobling.domain.order import Order
from kobling.engine.connectors import connection, source_for, target_for
from kobling.engine.eligibility import eligible_states
from kobling.engine.runtime import runtime
from kobling.engine.schedules import describe
from kobling.errors import PermanentError, TransientError
from kobling.store import repository as repo
from kobling.store.models import Transfer
from kobling.store.repository import ConnectionConfig

PURPOSE = "invoice"
ACTIVE_STATES = ("new", "queued", "running")
OUTCOME_STAGES = frozenset(repo.TERMINAL_OUTCOMES)
# The clients' codes for refused credentials (HTTP status, or the connector's own name).
CREDENTIAL_CODES = frozenset({"401", "403", "key_rejected", "login_rejected", "forbidden"})
# Shorter values are not masked: masking "cs" would garble ordinary words.
MIN_MASKED = 6
RETRY_HINT = "then press Retry on the transfer's page in the log"


@dataclass(frozen=True)
class Check:
    """One check made, in order: did the order pass it, and what was found."""

    name: str
    passed: bool
    result: str


@dataclass(frozen=True)
class Explanation:
    """The answer: a verdict code and plain sentences a shop owner can act on."""

    verdict: str
    title: str
    details: list[str]
    fix: str
    transfer_id: int | None
    document: str | None
    checks: list[Check] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def explain(connection_id: int, order_number: str) -> Explanation:
    """Why the order with this number (as the shop shows it) was transferred, or why not."""
    return _Inquiry(connection(connection_id), order_number.strip()).run()


# --- wording ----------------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _either(items: Sequence[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    quoted = [f"'{item}'" for item in items]
    if len(quoted) < 2:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _next_poll(cron: str) -> str:
    """'the next poll, at most 5 minutes away,' for the schedule ``0 */5 * * * *``."""
    every = describe(cron)
    if every == "every minute":
        return "the next poll, at most a minute away,"
    if every.startswith("every "):
        return f"the next poll, at most {every.removeprefix('every ')} away,"
    return f"the next poll ({every})"


def _secrets(cfg: ConnectionConfig) -> list[str]:
    """The secret values of both systems' credentials (all text values if unsure)."""
    found: list[str] = []
    for system in (cfg.source, cfg.target):
        model: type[BaseModel] = registry.get(system.kind).credentials_model
        try:
            found += secret_values(model.model_validate(dict(system.credentials)))
        except ValidationError:
            found += [v for v in system.credentials.values() if isinstance(v, str)]
    return sorted({s for s in found if len(s) >= MIN_MASKED}, key=len, reverse=True)


def _on_off(on: bool) -> str:
    return "on" if on else "off"


def _document_words(document_id: str) -> str:
    if document_id.startswith("draft:"):
        return f"draft invoice {document_id.removeprefix('draft:')}"
    return f"invoice {document_id}"


# --- the inquiry ------------------------------------------------------------------------------


class _Inquiry:
    """One run of the checks for one order; collects the checks made on the way."""

    def __init__(self, cfg: ConnectionConfig, number: str) -> None:
        self.cfg = cfg
        self.number = number
        self.shop = cfg.source.name
        self.target = cfg.target.name
        self.secrets = _secrets(cfg)
        self.checks: list[Check] = []
        self.notes: list[str] = []
        self.order: Order | None = None
        self.transfer: Transfer | None = repo.transfer_by_number(
            runtime().db, cfg.id, number, PURPOSE
        )

    def run(self) -> Explanation:
        return (
            self._switched_on()
            or self._read_order()
            or self._state()
            or self._start_date()
            or self._filter()
            or self._in_target()
            or self._outcome()
        )

    # -- bookkeeping -------------------------------------------------------------------------

    def check(self, name: str, passed: bool, result: str) -> None:
        self.checks.append(Check(name, passed, sentence(result)))

    def answer(
        self,
        verdict: str,
        title: str,
        details: Sequence[str] = (),
        fix: str = "",
        document: str | None = None,
    ) -> Explanation:
        t = self.transfer
        texts = [sentence(d) for d in [*details, *self.notes] if d]
        return Explanation(
            verdict=verdict,
            title=self._masked(sentence(title)),
            details=[self._masked(text) for text in texts],
            fix=self._masked(sentence(fix)) if fix else "",
            transfer_id=t.id if t is not None else None,
            document=document or (t.target_document_id if t is not None else None),
            checks=[Check(c.name, c.passed, self._masked(c.result)) for c in self.checks],
        )

    def _masked(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "•••")
        return text

    @property
    def kobling_took_it(self) -> bool:
        """Kobling's transfer is done or under way: the "why not" checks no longer answer."""
        t = self.transfer
        return t is not None and (t.outcome == "done" or t.state in ACTIVE_STATES)

    def _earlier_transfer(self) -> str:
        t = self.transfer
        if t is None:
            return ""
        if t.outcome == "done" and t.target_document_id:
            return (
                f"Kobling transferred it earlier as {_document_words(t.target_document_id)} "
                f"(transfer {t.id})"
            )
        return f"Kobling's transfer {t.id} of it is {t.outcome or t.state}"

    # -- 1. switched on ----------------------------------------------------------------------

    def _switched_on(self) -> Explanation | None:
        name = self.cfg.name
        on = self.cfg.integration_active
        self.check("integration_active", on, f"the integration is switched {_on_off(on)}")
        if not self.cfg.integration_active:
            return self.answer(
                "integration_inactive",
                f"The integration of the connection {name} is switched off, so Kobling "
                "transfers none of its orders",
                [self._earlier_transfer()],
                'Press "Switch the integration on" on the Connections page; the first poll '
                "after that catches up on the orders changed meanwhile",
            )
        on = self.cfg.active
        self.check("connection_active", on, f"the connection is switched {_on_off(on)}")
        if not self.cfg.active:
            return self.answer(
                "connection_inactive",
                f"The connection {name} is switched off, so Kobling transfers none of its orders",
                [self._earlier_transfer()],
                f'Press "Switch on" beside {name} on the Connections page; the first poll '
                "after that catches up on the orders changed meanwhile",
            )
        return None

    # -- 2. and 3. the order in the shop -------------------------------------------------------

    def _read_order(self) -> Explanation | None:
        try:
            payload = _find_order(source_for(self.cfg), self.number)
        except ValidationError:
            return self._source_refused(
                "the stored credentials are incomplete",
                "enter the shop's credentials again in the system settings (Systems)",
            )
        except PermanentError as problem:
            if problem.code in CREDENTIAL_CODES:
                return self._source_refused(problem.reason, problem.fix)
            return self._wrong_address(problem)
        except TransientError as problem:
            return self._source_unreachable(problem.reason, problem.fix)
        except Exception as error:  # a bug or an odd answer: its class only (could hold a key)
            return self._source_unreachable(
                f"an unexpected error ({type(error).__name__})",
                "try again; if it keeps failing, report this to Kobling with the error's name",
            )
        self.check("source_readable", True, f"{self.shop} answered with the stored credentials")
        if payload is None:
            return self._not_found()
        return self._normalize(payload)

    def _source_refused(self, reason: str, fix: str) -> Explanation:
        self.check("source_readable", False, f"{self.shop} refused the credentials: {reason}")
        return self.answer(
            "source_credentials",
            f"Kobling cannot read orders from {self.shop}: {reason}",
            [
                f"Kobling asked {shown_url(self.cfg.source.base_url)} for order {self.number}",
                "Until this is fixed, no order of this connection is transferred",
                self._earlier_transfer(),
            ],
            fix or "enter working credentials in the system settings (Systems)",
        )

    def _source_unreachable(self, reason: str, fix: str) -> Explanation:
        self.check("source_readable", False, f"{self.shop} did not answer: {reason}")
        return self.answer(
            "source_unreachable",
            f"Kobling cannot reach {self.shop}: {reason}",
            [
                f"Kobling asked {shown_url(self.cfg.source.base_url)} for order {self.number}",
                self._earlier_transfer(),
            ],
            fix or f"check that {self.shop} is online, then ask again",
        )

    def _wrong_address(self, problem: PermanentError) -> Explanation:
        if problem.code.startswith("3"):
            reason = f"the address sends Kobling elsewhere (a redirect, HTTP {problem.code})"
        elif problem.code == "404":
            reason = "no order API was found at the address (HTTP 404)"
        else:
            return self._source_unreachable(problem.reason, problem.fix)
        return self._source_unreachable(
            reason,
            f"check the address of {self.shop} in the system settings (Systems): enter it "
            "exactly as your browser shows it, with https:// and www. if it has them",
        )

    def _not_found(self) -> Explanation:
        self.check("order_found", False, f"{self.shop} has no order with the number {self.number}")
        return self.answer(
            "not_found",
            f"{self.shop} has no order with the number {self.number}",
            [self._earlier_transfer()],
            "Check the number: it is the order number the shop shows on the order, which may "
            "differ from its id",
        )

    def _normalize(self, payload: dict[str, Any]) -> Explanation | None:
        source_id = str(payload.get("id"))
        key = repo.transfer_key(self.cfg.id, "order", source_id, PURPOSE)
        self.transfer = repo.get_transfer(runtime().db, key) or self.transfer
        try:
            self.order = source_for(self.cfg).normalize(payload)
        except PermanentError as problem:
            self.check("order_found", False, f"found, but it cannot be read: {problem.reason}")
            return self.answer(
                "unreadable",
                f"Kobling cannot read order {self.number} from {self.shop}: {problem.reason}",
                [self._earlier_transfer()],
                problem.fix,
            )
        self.check(
            "order_found", True, f"{self.shop} has order {self.number} (id {self.order.source_id})"
        )
        return None

    # -- 4. and 5. eligibility -----------------------------------------------------------------

    def _state(self) -> Explanation | None:
        assert self.order is not None
        status, states = self.order.status, eligible_states(self.cfg.settings)
        if status in states and status != "cancelled":
            self.check("state_eligible", True, f"it is '{status}', one of {_either(states)}")
            return None
        if self.kobling_took_it:
            self.check(
                "state_eligible", True, f"it is '{status}' now, but Kobling had taken it already"
            )
            return None
        self.check("state_eligible", False, f"it is '{status}', not {_either(states)}")
        if status == "cancelled":
            return self.answer(
                "not_eligible",
                f"Order {self.number} was cancelled in {self.shop} before Kobling transferred "
                "it, and a cancelled order is not invoiced",
                [f"Eligible states (connection settings): {', '.join(states)}"],
                "",
            )
        return self.answer(
            "not_eligible",
            f"Order {self.number} is '{status}' in {self.shop}, and this connection transfers "
            f"only orders that are {_either(states)}",
            [
                f"Eligible states (connection settings): {', '.join(states)}",
                "Kobling transfers the order as soon as it reaches one of them",
            ],
            f"If '{status}' orders belong in the books, add '{status}' to the eligible states in "
            "the connection settings; otherwise wait until the order reaches one of them",
        )

    def _start_date(self) -> Explanation | None:
        assert self.order is not None
        start, created = self.cfg.start_date, self.order.created_at
        if start is None or created >= start:
            since = f"on or after the start date {_when(start)}" if start else "no start date"
            self.check("after_start_date", True, f"created {_when(created)}; {since}")
            return None
        if self.kobling_took_it:
            self.check(
                "after_start_date",
                True,
                f"created {_when(created)}, before the start date {_when(start)}, but Kobling "
                "had taken it already",
            )
            return None
        self.check("after_start_date", False, f"created {_when(created)}, before {_when(start)}")
        return self.answer(
            "before_start",
            f"Order {self.number} was created on {_when(created)}, before the start date of "
            f"this integration, {_when(start)}",
            ["Kobling transfers orders created from the start date on"],
            "To invoice orders from before the start date, import them with a backfill",
        )

    # -- 6. filter rules -------------------------------------------------------------------------

    def _filter(self) -> Explanation | None:
        t = self.transfer
        if self.kobling_took_it:
            return None
        if t is None:
            self.check("not_filtered", True, "no filter rule has seen it yet")
            return None
        decision = filter_decision(repo.latest_snapshot(runtime().db, t.key, "mapped"))
        if decision is None:
            self.check("not_filtered", True, "no filter rule left it out")
            return None
        rule, why = decision
        self.check("not_filtered", False, f"the filter rule '{rule}' left it out")
        return self.answer(
            "filtered",
            f"Order {self.number} was left out by the filter rule '{rule}'"
            + (f": {why}" if why else ""),
            [f"Kobling's transfer {t.id} recorded the rule's decision when it mapped the order"],
            "If the order belongs in the books, change the rule in the connection's mapping rules",
        )

    # -- 7. already in the target ------------------------------------------------------------

    def _in_target(self) -> Explanation | None:
        if self.kobling_took_it:
            return None
        found = self._look_in_target()
        if found is None or found.state != "booked":
            return None
        t = self.transfer
        mine = t is not None and t.target_document_id == found.id
        return self.answer(
            "in_target",
            f"Order {self.number} is already in {self.target} as invoice {found.id} (found by "
            f"its reference {self.number}), so Kobling does not create it again",
            [
                "Kobling made it in an earlier attempt"
                if mine
                else "Kobling did not create it: probably it was entered by hand or by another "
                "tool",
            ],
            self._in_target_fix(),
            document=found.id,
        )

    def _look_in_target(self) -> TargetDocument | None:
        try:
            found = target_for(self.cfg).find_document(self.number)
        except (PermanentError, TransientError) as problem:
            self._target_trouble(problem.reason, problem.fix)
            return None
        except Exception as error:  # its class only: the message could quote a key
            self._target_trouble(f"an unexpected error ({type(error).__name__})", "")
            return None
        if found is None:
            has_none = f"{self.target} has no invoice with the reference {self.number}"
            self.check("not_in_target", True, has_none)
        elif found.state != "booked":
            self.check(
                "not_in_target",
                True,
                f"{self.target} has draft invoice {found.id} with this reference; Kobling "
                "books it when it transfers the order",
            )
        else:
            self.check(
                "not_in_target", False, f"{self.target} has invoice {found.id} with the reference"
            )
        return found

    def _target_trouble(self, reason: str, fix: str) -> None:
        self.check("not_in_target", True, f"could not look in {self.target}: {reason}")
        self.notes += [
            f"Kobling could not look in {self.target} for an invoice of this order: {reason}",
            fix,
        ]

    def _in_target_fix(self) -> str:
        t = self.transfer
        if t is not None and t.outcome in ("held", "failed"):
            return (
                "Nothing to do in the books; to close Kobling's transfer too, press Retry on its "
                "page in the log: Kobling finds this invoice and records it as done"
            )
        return (
            "Nothing to do: when Kobling sees the order, it finds this invoice and records the "
            "transfer as done instead of creating a second one"
        )

    # -- 8. to 11. Kobling's transfer ---------------------------------------------------------

    def _outcome(self) -> Explanation:
        t = self.transfer
        if t is None or (t.outcome == "skipped" and t.state == "settled"):
            return self._not_taken(t)
        if t.state in ACTIVE_STATES:
            return self._in_progress(t)
        if t.outcome == "held":
            return self._held(t)
        if t.outcome == "failed":
            return self._failed(t)
        return self._done(t)

    def _held(self, t: Transfer) -> Explanation:
        self.check("transfer", False, f"transfer {t.id} is held: {t.reason}")
        return self.answer(
            "held",
            f"Order {self.number} is held: {t.reason}",
            [
                f"It stopped at the stage '{_stopped_at(t)}' on {_when(t.updated_at)}",
                "A change of the order in the shop also starts a new attempt",
            ],
            f"{t.fix.rstrip('. ')}; {RETRY_HINT}" if t.fix else RETRY_HINT,
        )

    def _failed(self, t: Transfer) -> Explanation:
        self.check("transfer", False, f"transfer {t.id} failed: {t.reason}")
        return self.answer(
            "failed",
            f"Order {self.number} failed: {t.reason}",
            [f"The last error came at the stage '{_stopped_at(t)}' on {_when(t.updated_at)}"],
            f"{t.fix.rstrip('. ')}; when it works again, {RETRY_HINT}"
            if t.fix
            else f"When the remote system works again, {RETRY_HINT}",
        )

    def _in_progress(self, t: Transfer) -> Explanation:
        doing = {"new": "just seen", "queued": "queued", "running": "running"}[t.state]
        self.check("transfer", False, f"transfer {t.id} is {doing}, at the stage '{t.stage}'")
        return self.answer(
            "in_progress",
            f"Kobling is transferring order {self.number} right now: it is {doing}, at the "
            f"stage '{t.stage}'",
            [f"Its last step was on {_when(t.updated_at)}"],
            "Nothing to do: ask again in a minute",
        )

    def _done(self, t: Transfer) -> Explanation:
        document = t.target_document_id or ""
        self.check("transfer", True, f"transfer {t.id} is done: {t.reason}")
        return self.answer(
            "done",
            f"Order {self.number} was transferred: it is {_document_words(document)} in "
            f"{self.target}",
            [t.reason],
            "",
            document=document or None,
        )

    def _not_taken(self, t: Transfer | None) -> Explanation:
        assert self.order is not None
        status = self.order.status
        if t is not None and t.reason.startswith("skipped by "):
            self.check("transfer", False, f"transfer {t.id} was skipped on purpose")
            return self.answer(
                "skipped",
                f"Order {self.number} was left out on purpose: {t.reason}",
                ["A person chose to skip its transfer in the log"],
                "",
            )
        poll = _next_poll(runtime().tuning.poll_cron)
        if t is None:
            self.check("transfer", False, "Kobling has not seen the order yet")
            title = (
                f"Kobling has not seen order {self.number} yet: it is '{status}' and created "
                f"after the start date, so {poll} picks it up"
            )
        else:
            self.check("transfer", False, f"transfer {t.id} was skipped earlier: {t.reason}")
            title = (
                f"Kobling last saw order {self.number} when it was not ready ({t.reason}); it "
                f"is '{status}' now, so {poll} picks it up"
            )
        return self.answer(
            "not_yet_seen",
            title,
            [],
            'To transfer it now, press "Poll now" for this connection on the Connections page',
        )


# --- reading snapshots and the shop -----------------------------------------------------------


def _stopped_at(t: Transfer) -> str:
    """The last working stage of a settled transfer (the outcome is recorded as a stage too)."""
    found = repo.transfer_with_snapshots(runtime().db, str(t.id))
    stages = [snap.stage for snap in found[1]] if found else []
    working = [stage for stage in stages if stage not in OUTCOME_STAGES]
    return working[-1] if working else t.stage


def filter_decision(mapped: dict[str, Any] | None) -> tuple[str, str] | None:
    """The filter rule that left the order out, from a ``mapped`` snapshot, with its reason.

    The mapping stage records each rule it evaluated in ``rules``; a filter that matched reads
    ``{"rule": <name>, "action": "filter", "matched": true, "reason": <plain words>}``. Until
    a connection has rules the list is empty (``{"rules": [], "order": …}``) and nothing was
    filtered.
    """
    for entry in (mapped or {}).get("rules") or []:
        if isinstance(entry, dict) and entry.get("action") == "filter" and entry.get("matched"):
            return str(entry.get("rule") or "unnamed"), str(entry.get("reason") or "")
    return None


def _find_order(source: OrderSource, number: str) -> dict[str, Any] | None:
    """The raw order with this number: by number where the source can, else by id."""
    if isinstance(source, OrderNumberLookup):
        return source.order_by_number(number)
    if not number.isdigit():
        return None
    try:
        payload = source.fetch_order(number)
    except PermanentError as problem:
        if problem.code == "404":
            return None
        raise
    return payload if str(payload.get("number") or payload.get("id")) == number else None
