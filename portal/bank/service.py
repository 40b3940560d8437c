"""Bank statements in, money booked: an uploaded file is parsed, checked against its account,
kept once per line, and matched to invoices in one transaction; the lines sure enough are then
booked through portal.settlement (each payment its own transaction, so one refusal queues that
line and books the rest), reversals undo their payments, and staff work the rest in the queue.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from piccolo.columns import Column

from portal import bulk, db, settlement
from portal.audit import service as audit
from portal.audit.service import Actor
from portal.bank import formats, rules
from portal.bank.formats import Statement, StatementError, StatementLine
from portal.bank.tables import OPEN_STATUSES, BankAccount, BankImport, BankLine, LineStatus, PayerAccount
from portal.billing.rules import InvoiceKind, InvoiceStatus
from portal.billing.tables import Invoice, InvoiceCounter
from portal.clients.tables import Client
from portal.clock import utcnow
from portal.messages import N_
from portal.money import CURRENCIES
from portal.negotiation.tables import Installment, Schedule, ScheduleInvoice, ScheduleVersion
from portal.web.pagination import Page, decode_cursor, encode_cursor

MAX_FILE_BYTES = 50 * 1024 * 1024
CHUNK = 500  # values per IN (...) list
QUEUE_PAGE = 50
METHOD = "bank_transfer"


class BankError(Exception):
    """Refused, worded for the user: args[0] a message id (N_), `params` for it."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class ImportResult:
    import_id: int
    statements: int
    lines: int
    duplicates: int
    booked: int
    queued: int
    outgoing: int
    reversed: int
    booking_later: int = 0  # matched, left for the tick to book


# --- accounts -------------------------------------------------------------------------------------


async def accounts() -> list[dict]:
    return await BankAccount.select().order_by(BankAccount.name, BankAccount.id)


async def get_account(account_id: int) -> dict | None:
    return await BankAccount.select().where(BankAccount.id == account_id).first()


async def save_account(values: dict, actor: Actor, account_id: int | None = None) -> int:
    """Create or change an account; values from check_account. Raises BankError for a taken IBAN."""
    async with db.transaction():
        taken = await BankAccount.select(BankAccount.id).where(BankAccount.iban == values["iban"]).first()
        if taken and taken["id"] != account_id:
            raise BankError(N_("Another account already has this IBAN."))
        if account_id is None:
            row = BankAccount(created_at=utcnow(), **values)
            await row.save()
            account_id = row.id
            await audit.record(actor, "bank_account_created", "bank_account", account_id, after=values)
        else:
            before = await get_account(account_id)
            await BankAccount.update(values).where(BankAccount.id == account_id)
            await audit.record(actor, "bank_account_changed", "bank_account", account_id,
                               before={k: before[k] for k in values} if before else {}, after=values)
    return account_id


# --- import -------------------------------------------------------------------------------------


async def import_file(account_id: int | None, data: bytes, filename: str, actor: Actor, *, book_at_most: int | None = None) -> ImportResult:
    """Parse, check, keep and match one file in one transaction (nothing of a refused file stays),
    then book what is sure and undo what the bank reversed. Without `account_id` the account is the
    one whose IBAN the statement names (a CSV names none). `book_at_most`: lines booked before this
    returns (a page waits for them); the tick books the rest within minutes (about 40 a second).
    Raises BankError or StatementError."""
    account, statements, file_format = await read_statement(account_id, data)
    async with db.transaction():
        result, to_book, reversals = await keep_and_match(account, statements, file_format, filename[:200], actor)
    now, later = (to_book, []) if book_at_most is None else (to_book[:book_at_most], to_book[book_at_most:])
    booked = await book_matched(now, actor)
    undone = await undo_reversals(reversals, actor)
    return ImportResult(result.import_id, result.statements, result.lines, result.duplicates, booked,
                        result.queued + (len(now) - booked), result.outgoing, undone, len(later))


async def read_statement(account_id: int | None, data: bytes) -> tuple[dict, list[Statement], str]:
    """The file parsed and checked against its account (chosen, or named by the statement's IBAN)."""
    if len(data) > MAX_FILE_BYTES:
        raise BankError(N_("The file is larger than %(limit)s MB."), limit=MAX_FILE_BYTES // (1024 * 1024))
    if not data.strip():
        raise BankError(N_("The file is empty."))
    account = await get_account(account_id) if account_id is not None else None
    if account_id is not None and account is None:
        raise LookupError(account_id)
    file_format: str | None = formats.detect_format(data)
    if file_format == "csv" and (data.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<") or re.search(rb"^:20:", data, re.MULTILINE)):
        file_format = None  # XML or MT940 that is no statement: parse() lets its reader say what is wrong with it
    mapping = None
    if file_format == "csv":
        if account is None:
            raise BankError(N_("A CSV file does not say which account it is for: choose the account."))
        if not account["csv_mapping"]:
            raise BankError(N_("This looks like a CSV file: map its columns for this account first (Bank accounts, CSV columns)."))
        mapping = formats.CsvMapping.from_json(account["csv_mapping"])
    statements = formats.parse(data, fmt=file_format, csv_mapping=mapping, account_currency=account["currency"] if account else "")
    if account is None:
        account = await _account_named_by(statements)
    _check_statements(statements, account)
    return account, statements, file_format or ""


async def _account_named_by(statements: list[Statement]) -> dict:
    iban = next((s.iban for s in statements if s.iban), "")
    if not iban:
        raise BankError(N_("The statement does not say its account: choose the account."))
    account = await BankAccount.select().where(BankAccount.iban == iban).first()
    if account is None:
        raise BankError(N_("No bank account here has the IBAN %(iban)s: add it under Bank accounts first."), iban=iban)
    return account


def _check_statements(statements: list[Statement], account: dict) -> None:
    if not any(s.lines for s in statements):
        raise BankError(N_("The file holds no booked transactions."))
    for statement in statements:
        if statement.iban and statement.iban != account["iban"]:
            raise BankError(N_("The statement is for account %(iban)s, not for %(account)s (%(account_iban)s)."),
                            iban=statement.iban, account=account["name"], account_iban=account["iban"])
        if statement.currency and statement.currency != account["currency"]:
            raise BankError(N_("The statement is in %(currency)s; the account %(account)s is in %(account_currency)s."),
                            currency=statement.currency, account=account["name"], account_currency=account["currency"])
        for number, line in enumerate(statement.lines, start=1):
            if line.currency != account["currency"]:
                raise BankError(N_("Transaction %(number)s is in %(currency)s; the account %(account)s is in %(account_currency)s."),
                                number=number, currency=line.currency, account=account["name"], account_currency=account["currency"])


@dataclass(frozen=True)
class Kept:
    import_id: int
    statements: int
    lines: int
    duplicates: int
    queued: int
    outgoing: int


async def keep_and_match(account: dict, statements: list[Statement], file_format: str, filename: str,
                          actor: Actor) -> tuple[Kept, list[int], list[int]]:
    keyed = list(_keyed_lines(account["id"], statements))
    known = await _known_keys([key for key, _ in keyed])
    fresh = [(key, line) for key, line in keyed if key not in known]
    incoming = [line for _, line in fresh if line.amount_minor > 0 and not line.reversal]
    evidence = await _evidence(incoming, account["currency"])
    now = utcnow()
    batch = BankImport(account=account["id"], filename=filename, file_format=file_format, imported_by=actor.user_id, imported_at=now,
                       statements=len(statements), lines=len(keyed), duplicates=len(keyed) - len(fresh))
    await batch.save()
    rows: list[list[Any]] = []
    statuses: Counter[str] = Counter()
    claimed: Counter[int] = Counter()  # what earlier lines of this file already put on each invoice
    for key, line in fresh:
        status, found = _decide(line, evidence.get(id(line)), account["auto_book_threshold"])
        if found and status == LineStatus.MATCHED:
            if any(claimed[invoice_id] for invoice_id, _ in found.allocations):
                status = LineStatus.QUEUED
                found = rules.Match(found.client_id, found.allocations, found.credit_minor, found.confidence,
                                    N_("Another transaction of this statement already pays %(codes)s."),
                                    {"codes": _codes_of(found, evidence[id(line)])})
            for invoice_id, amount in found.allocations:
                claimed[invoice_id] += amount
        statuses[status] += 1
        rows.append([
            account["id"], batch.id, key, line.bank_reference[:120], line.end_to_end_id[:120], line.booked_on, line.amount_minor,
            line.currency, line.reversal, line.payer_name[:200], line.payer_iban[:34], line.text, status,
            found.confidence if found else 0, json.dumps({"message": found.reason, "params": found.params}) if found else "",
            found.client_id if found else None, json.dumps([list(a) for a in found.allocations]) if found else "",
        ])
    columns: list[Column] = [BankLine.account, BankLine.bank_import, BankLine.unique_key, BankLine.bank_reference, BankLine.end_to_end_id,
               BankLine.booked_on, BankLine.amount_minor, BankLine.currency, BankLine.reversal, BankLine.payer_name, BankLine.payer_iban,
               BankLine.text, BankLine.status, BankLine.confidence, BankLine.reason, BankLine.client, BankLine.suggestion]
    # a concurrent import of the same file: its lines are kept by whoever comes first, never twice
    written = await bulk.insert_many(BankLine, columns, rows, on_conflict="ON CONFLICT (unique_key) DO NOTHING",
                                     returning=[BankLine.id, BankLine.status, BankLine.reversal])
    to_book = sorted(r["id"] for r in written if r["status"] == LineStatus.MATCHED)
    reversals = sorted(r["id"] for r in written if r["reversal"])
    await BankImport.update({BankImport.matched: statuses[LineStatus.MATCHED], BankImport.queued: statuses[LineStatus.QUEUED],
                             BankImport.outgoing: statuses[LineStatus.OUTGOING]}).where(BankImport.id == batch.id)
    await audit.record(actor, "bank_statement_imported", "bank_account", account["id"],
                       after={"import": batch.id, "filename": filename, "lines": len(keyed), "new": len(written)})
    kept = Kept(batch.id, len(statements), len(keyed), len(keyed) - len(written), statuses[LineStatus.QUEUED], statuses[LineStatus.OUTGOING])
    return kept, to_book, reversals


def _codes_of(found: rules.Match, evidence: rules.Evidence) -> str:
    known = {i.id: i.code for i in (*evidence.named, *evidence.client_open, *evidence.same_amount)}
    return ", ".join(known.get(invoice_id, "") for invoice_id, _ in found.allocations)


def _keyed_lines(account_id: int, statements: list[Statement]):
    seen: Counter = Counter()
    for statement in statements:
        for line in statement.lines:
            same = (line.booked_on, line.amount_minor, line.currency, line.payer_iban, line.text)
            seen[same] += 1
            yield rules.line_key(account_id, line.bank_reference, booked_on=line.booked_on, amount_minor=line.amount_minor,
                                 currency=line.currency, text=line.text, payer_iban=line.payer_iban, occurrence=seen[same]), line


def _decide(line: StatementLine, evidence: rules.Evidence | None, threshold: int) -> tuple[str, rules.Match | None]:
    if line.reversal or line.amount_minor <= 0:
        return (LineStatus.QUEUED if line.reversal and line.amount_minor < 0 else LineStatus.OUTGOING), None
    found = rules.match(line.amount_minor, line.currency, evidence or rules.Evidence())
    sure = found.confidence >= threshold and found.client_id is not None
    return (LineStatus.MATCHED if sure else LineStatus.QUEUED), found


async def _known_keys(keys: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        known |= {r["unique_key"] for r in await BankLine.select(BankLine.unique_key).where(BankLine.unique_key.is_in(chunk))}
    return known


# --- evidence: what the database knows, gathered for the whole file in a few queries ------------------


def _open_invoice(row: dict) -> rules.OpenInvoice:
    return rules.OpenInvoice(row["id"], row["code"], row["client"], row["currency"], row["total_minor"] - row["paid_minor"], row["due_date"])


OPEN_COLUMNS = (Invoice.id, Invoice.code, Invoice.client, Invoice.currency, Invoice.total_minor, Invoice.paid_minor, Invoice.due_date)


def _is_open():
    return (Invoice.kind == InvoiceKind.INVOICE) & (Invoice.status == InvoiceStatus.ISSUED)


async def _evidence(lines: list[StatementLine], currency: str) -> dict[int, rules.Evidence]:
    if not lines:
        return {}
    series = sorted({r["series"] for r in await InvoiceCounter.select(InvoiceCounter.series)} | {"INV"})
    references = {id(line): rules.invoice_references(line.text) for line in lines}
    codes = rules.candidate_codes(set().union(*references.values()), series)
    by_code: dict[tuple[int, int], list[rules.OpenInvoice]] = defaultdict(list)
    for start in range(0, len(codes), CHUNK):
        rows = await Invoice.select(*OPEN_COLUMNS, Invoice.year, Invoice.number).where(
            Invoice.code.is_in(codes[start:start + CHUNK]) & _is_open())
        for row in rows:
            by_code[(row["year"], row["number"])].append(_open_invoice(row))
    payers = await payer_clients(sorted({line.payer_iban for line in lines if line.payer_iban}))
    client_ids = sorted({client for client, _ in payers.values()})
    open_of = await _open_of_clients(client_ids, currency)
    installments = await _next_installments(client_ids)
    unexplained = {id(line): line for line in lines if not references[id(line)] and line.payer_iban not in payers}
    same_amount = await _invoices_with_balance(sorted({line.amount_minor for line in unexplained.values()}), currency)
    evidence = {}
    for line in lines:
        named = tuple(invoice for ref in sorted(references[id(line)]) for invoice in by_code.get(ref, ()))
        client, name = payers.get(line.payer_iban, (None, ""))
        evidence[id(line)] = rules.Evidence(
            named=named, payer_client=client, payer_client_name=name,
            client_open=tuple(open_of.get(client, ())) if client else (),
            installments=tuple(installments.get(client, ())) if client else (),
            same_amount=tuple(same_amount.get(line.amount_minor, ())) if id(line) in unexplained else (),
        )
    return evidence


async def payer_clients(ibans: list[str]) -> dict[str, tuple[int, str]]:
    """IBAN -> (client id, client name) for the payer accounts known."""
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(ibans), CHUNK):
        rows = await PayerAccount.select(PayerAccount.iban, PayerAccount.client, PayerAccount.client.name.as_alias("client_name")).where(
            PayerAccount.iban.is_in(ibans[start:start + CHUNK]))
        found.update({r["iban"]: (r["client"], r["client_name"]) for r in rows})
    return found


async def _open_of_clients(client_ids: list[int], currency: str) -> dict[int, list[rules.OpenInvoice]]:
    found: dict[int, list[rules.OpenInvoice]] = defaultdict(list)
    for start in range(0, len(client_ids), CHUNK):
        rows = await Invoice.select(*OPEN_COLUMNS).where(
            bulk.ids_in(Invoice.client, client_ids[start:start + CHUNK]) & _is_open() & (Invoice.currency == currency)
        ).order_by(Invoice.due_date).order_by(Invoice.id)
        for row in rows:
            found[row["client"]].append(_open_invoice(row))
    return found


async def _next_installments(client_ids: list[int]) -> dict[int, list[rules.DueInstallment]]:
    """Each accepted plan's first unpaid installment of its accepted version, with the plan's invoices."""
    if not client_ids:
        return {}
    schedules = await Schedule.select(Schedule.id, Schedule.client, Schedule.currency, Schedule.accepted_version).where(
        bulk.ids_in(Schedule.client, client_ids) & (Schedule.status == "accepted"))
    if not schedules:
        return {}
    ids = [s["id"] for s in schedules]
    versions = {(v["schedule"], v["number"]): v["id"] for v in await ScheduleVersion.select(
        ScheduleVersion.id, ScheduleVersion.schedule, ScheduleVersion.number).where(bulk.ids_in(ScheduleVersion.schedule, ids))}
    items = await Installment.select(Installment.schedule, Installment.version, Installment.due_date, Installment.amount_minor).where(
        bulk.ids_in(Installment.schedule, ids) & Installment.paid_at.is_null()).order_by(Installment.due_date).order_by(Installment.number)
    covered: dict[int, list[tuple]] = defaultdict(list)
    covering = ScheduleInvoice.select(ScheduleInvoice.schedule, ScheduleInvoice.invoice, ScheduleInvoice.invoice.due_date.as_alias("due"))
    for row in await covering.where(bulk.ids_in(ScheduleInvoice.schedule, ids)):
        covered[row["schedule"]].append((row["due"], row["invoice"]))
    found: dict[int, list[rules.DueInstallment]] = defaultdict(list)
    for schedule in schedules:
        version = versions.get((schedule["id"], schedule["accepted_version"]))
        first = next((i for i in items if i["schedule"] == schedule["id"] and i["version"] == version), None)
        if first:
            found[schedule["client"]].append(rules.DueInstallment(
                schedule["id"], schedule["client"], schedule["currency"], first["amount_minor"], first["due_date"].isoformat(),
                tuple(invoice for _, invoice in sorted(covered[schedule["id"]]))))
    return found


async def _invoices_with_balance(amounts: list[int], currency: str) -> dict[int, list[rules.OpenInvoice]]:
    found: dict[int, list[rules.OpenInvoice]] = defaultdict(list)
    for start in range(0, len(amounts), CHUNK):
        chunk = ", ".join(str(int(a)) for a in amounts[start:start + CHUNK])
        rows = await Invoice.raw(
            "SELECT id, code, client, currency, total_minor, paid_minor, due_date FROM invoices "
            f"WHERE kind = {{}} AND status = {{}} AND currency = {{}} AND total_minor - paid_minor IN ({chunk})",
            InvoiceKind.INVOICE.value, InvoiceStatus.ISSUED.value, currency)
        for row in rows:
            row["due_date"] = _as_date(row["due_date"])
            invoice = _open_invoice(row)
            if len(found[invoice.balance_minor]) < 2:  # one is a suggestion, two are a guess: never more is needed
                found[invoice.balance_minor].append(invoice)
    return found


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# --- booking ------------------------------------------------------------------------------------


async def matched_line_ids() -> list[int]:
    """Lines matched well enough but not booked yet (the import that matched them was cut short)."""
    return [r["id"] for r in await BankLine.select(BankLine.id).where(BankLine.status == LineStatus.MATCHED).order_by(BankLine.id)]


async def book_matched(line_ids: list[int], actor: Actor) -> int:
    """Book each matched line as it was matched, in a transaction of its own; a line the payment
    path refuses (the invoice paid meanwhile, say) goes to the queue with the refusal as its reason."""
    booked = 0
    for line_id in line_ids:
        try:
            async with db.transaction():
                line = await db.locked(BankLine.select().where((BankLine.id == line_id) & (BankLine.status == LineStatus.MATCHED))).first()
                if line is None:
                    continue
                allocations = [(int(i), int(a)) for i, a in json.loads(line["suggestion"] or "[]")]
                await _book(line, line["client"], [i for i, _ in allocations], actor, status=LineStatus.BOOKED)
            booked += 1
        except settlement.BillingError as exc:
            await BankLine.update({BankLine.status: LineStatus.QUEUED, BankLine.confidence: 0,
                                   BankLine.reason: json.dumps({"message": str(exc), "params": {}})}).where(BankLine.id == line_id)
    return booked


async def _book(line: dict, client_id: int, invoice_ids: list[int], actor: Actor, *, status: str) -> settlement.Received:
    received = await settlement.receive(
        client_id=client_id, currency=line["currency"], amount_minor=line["amount_minor"], invoice_ids=invoice_ids, method=METHOD,
        received_on=line["booked_on"], reference=_reference(line), actor=actor, external_id=f"bank:{line['id']}")
    await BankLine.update({
        BankLine.status: status if received.payment else LineStatus.CREDITED, BankLine.client: client_id,
        BankLine.payment: received.payment.payment_id if received.payment else None, BankLine.credit_payment: received.credit_payment_id,
        BankLine.decided_by: actor.user_id, BankLine.decided_at: utcnow(),
    }).where(BankLine.id == line["id"])
    return received


def _reference(line: dict) -> str:
    return (line["text"] or line["bank_reference"] or line["end_to_end_id"] or line["payer_name"])[:120]


async def undo_reversals(line_ids: list[int], actor: Actor) -> int:
    """A line the bank reversed: the booked line it undoes (same amount, same payer or reference,
    the latest before it) has its payment and credit reversed; without one it waits in the queue."""
    undone = 0
    for line_id in line_ids:
        async with db.transaction():
            reversal = await BankLine.select().where(BankLine.id == line_id).first()
            if reversal is None:
                continue
            original = await _reversed_line(reversal)
            if original is None:
                await BankLine.update({BankLine.reason: json.dumps({"message": N_(
                    "The bank reversed a transaction that was not booked here: check it and mark it."), "params": {}})}).where(BankLine.id == line_id)
                continue
            why = f"Reversed by the bank ({reversal['booked_on']})"
            for payment_id in (original["payment"], original["credit_payment"]):
                if payment_id:
                    await settlement.reverse_payment(payment_id, why, actor)
            await BankLine.update({BankLine.status: LineStatus.REVERSED}).where(BankLine.id == original["id"])
            await BankLine.update({BankLine.status: LineStatus.REVERSED, BankLine.reverses: original["id"], BankLine.client: original["client"],
                                   BankLine.decided_at: utcnow()}).where(BankLine.id == line_id)
            undone += 1
    return undone


async def _reversed_line(reversal: dict) -> dict | None:
    same = ((BankLine.account == reversal["account"]) & (BankLine.amount_minor == -reversal["amount_minor"])
            & BankLine.status.is_in([LineStatus.BOOKED, LineStatus.CREDITED]) & (BankLine.id < reversal["id"]))
    candidates = await BankLine.select().where(same).order_by(BankLine.id, ascending=False).limit(20)
    for key in ("end_to_end_id", "bank_reference", "payer_iban"):
        for line in candidates:
            if reversal[key] and line[key] == reversal[key]:
                return line
    return None


# --- the queue: a person decides ------------------------------------------------------------------


async def queue_page(account_id: int | None, cursor: str | None) -> Page:
    """Open lines, newest first, by keyset (id)."""
    where: Any = BankLine.status.is_in(list(OPEN_STATUSES))
    if account_id:
        where &= BankLine.account == account_id
    after = decode_cursor(cursor, (int,))
    if after:
        where &= BankLine.id < after[0]
    rows = await BankLine.select(
        *BankLine.all_columns(), BankLine.client.name.as_alias("client_name"), BankLine.account.name.as_alias("account_name"),
    ).where(where).order_by(BankLine.id, ascending=False).limit(QUEUE_PAGE + 1)
    more = len(rows) > QUEUE_PAGE
    rows = rows[:QUEUE_PAGE]
    await _with_suggestions(rows)
    return Page(rows, encode_cursor([rows[-1]["id"]]) if more else None, is_first=after is None)


async def queue_count() -> int:
    return await BankLine.count().where(BankLine.status.is_in(list(OPEN_STATUSES)))


async def line(line_id: int) -> dict | None:
    rows = await BankLine.select(
        *BankLine.all_columns(), BankLine.client.name.as_alias("client_name"), BankLine.account.name.as_alias("account_name"),
    ).where(BankLine.id == line_id)
    await _with_suggestions(rows)
    return rows[0] if rows else None


async def _with_suggestions(rows: list[dict]) -> None:
    """Each row's reason (message, params) and suggested allocations with the invoices' codes."""
    wanted = {int(i) for r in rows for i, _ in json.loads(r["suggestion"] or "[]")}
    codes = {r["id"]: r for r in await Invoice.select(Invoice.id, Invoice.code, Invoice.total_minor, Invoice.paid_minor, Invoice.status).where(
        bulk.ids_in(Invoice.id, sorted(wanted)))} if wanted else {}
    for row in rows:
        reason = json.loads(row["reason"]) if row["reason"] else {"message": "", "params": {}}
        row["reason_message"], row["reason_params"] = reason["message"], reason["params"]
        row["suggested"] = [{"invoice": codes[int(i)], "amount_minor": int(a)} for i, a in json.loads(row["suggestion"] or "[]") if int(i) in codes]
        row["suggested_credit"] = row["amount_minor"] - sum(s["amount_minor"] for s in row["suggested"])


async def _open_line(line_id: int) -> dict:
    found = await db.locked(BankLine.select().where(BankLine.id == line_id)).first()
    if found is None:
        raise LookupError(line_id)
    if found["status"] not in OPEN_STATUSES or found["amount_minor"] <= 0:
        raise BankError(N_("This transaction is already decided."))
    return found


async def confirm(line_id: int, actor: Actor) -> settlement.Received:
    """Book the suggestion as it stands (its invoices in order, the rest as credit) and learn the payer's IBAN."""
    async with db.transaction():
        found = await _open_line(line_id)
        if found["client"] is None:
            raise BankError(N_("Nothing to confirm: choose the client or split it over invoices."))
        invoice_ids = [int(i) for i, _ in json.loads(found["suggestion"] or "[]")]
        received = await _book(found, found["client"], invoice_ids, actor, status=LineStatus.BOOKED)
        await learn_payer(found["client"], found["payer_iban"], line_id)
    return received


async def split(line_id: int, parts: dict[int, int], client_id: int, actor: Actor) -> rules.Split:
    """A person's split over the client's open invoices; the rest is the client's credit. Returns the
    checked split (errors keyed by field) and books it when it holds."""
    async with db.transaction():
        found = await _open_line(line_id)
        open_invoices = {r["id"]: r["total_minor"] - r["paid_minor"] for r in await Invoice.select(*OPEN_COLUMNS).where(
            (Invoice.client == client_id) & _is_open() & (Invoice.currency == found["currency"]))}
        checked = rules.check_split(found["amount_minor"], parts, open_invoices)
        if not checked.ok:
            return checked
        allocations = list(checked.allocations)
        payment = None
        if allocations:
            recorded = await settlement.record_payment(client_id=client_id, currency=found["currency"], allocations=allocations, method=METHOD,
                                            received_on=found["booked_on"], reference=_reference(found), actor=actor,
                                            external_id=f"bank:{line_id}")
            payment = recorded.payment_id
        credit_id = None
        if checked.credit_minor:
            credit_id = await settlement.record_credit(client_id, allocations[0][0] if allocations else None, actor=actor,
                                                       amount=checked.credit_minor, currency=found["currency"], day=found["booked_on"],
                                                       reference=_reference(found), external_id=f"bank:{line_id}{settlement.CREDIT_SUFFIX}",
                                                       method=METHOD)
        await BankLine.update({BankLine.status: LineStatus.BOOKED if allocations else LineStatus.CREDITED, BankLine.client: client_id,
                               BankLine.payment: payment, BankLine.credit_payment: credit_id, BankLine.decided_by: actor.user_id,
                               BankLine.decided_at: utcnow(),
                               BankLine.suggestion: json.dumps([list(a) for a in allocations])}).where(BankLine.id == line_id)
        await learn_payer(client_id, found["payer_iban"], line_id)
    return checked


async def credit(line_id: int, client_id: int, actor: Actor) -> int:
    """All of it the client's credit (money for no invoice yet, or an invoice to come)."""
    async with db.transaction():
        found = await _open_line(line_id)
        if not await Client.exists().where(Client.id == client_id):
            raise BankError(N_("Choose a client."))
        received = await _book(found, client_id, [], actor, status=LineStatus.CREDITED)
        await learn_payer(client_id, found["payer_iban"], line_id)
    return received.credit_minor


async def not_ours(line_id: int, note: str, actor: Actor) -> None:
    """Money that is not a client's payment (a refund from a supplier, interest, a transfer of our own)."""
    async with db.transaction():
        found = await db.locked(BankLine.select().where(BankLine.id == line_id)).first()
        if found is None:
            raise LookupError(line_id)
        if found["status"] not in OPEN_STATUSES:
            raise BankError(N_("This transaction is already decided."))
        await BankLine.update({BankLine.status: LineStatus.NOT_OURS, BankLine.note: note[:500], BankLine.decided_by: actor.user_id,
                               BankLine.decided_at: utcnow()}).where(BankLine.id == line_id)
        await audit.record(actor, "bank_line_not_ours", "bank_account", found["account"], after={"line": line_id, "note": note[:500]})


async def learn_payer(client_id: int, iban: str, line_id: int | None) -> bool:
    """Remember that this IBAN pays for the client (an IBAN already known for another client stays theirs)."""
    if not iban:
        return False
    written = await bulk.insert_many(PayerAccount, [PayerAccount.client, PayerAccount.iban, PayerAccount.learned_at, PayerAccount.learned_from],
                                     [[client_id, iban, utcnow(), line_id]], on_conflict="ON CONFLICT (iban) DO NOTHING",
                                     returning=[PayerAccount.id])
    return bool(written)


async def imports(limit: int = 20) -> list[dict]:
    return await BankImport.select(*BankImport.all_columns(), BankImport.account.name.as_alias("account_name"),
                                   BankImport.imported_by.name.as_alias("imported_by_name")).order_by(BankImport.id, ascending=False).limit(limit)


def currencies() -> list[str]:
    return list(CURRENCIES)


__all__ = ["MAX_FILE_BYTES", "BankError", "ImportResult", "StatementError"]
