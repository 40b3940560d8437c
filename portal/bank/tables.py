from enum import StrEnum

from piccolo.columns import BigInt, Boolean, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal.auth.tables import User
from portal.billing.tables import Payment
from portal.clients.tables import Client


class LineStatus(StrEnum):
    """A bank transaction's life: matched well enough to book at once, or queued for a person;
    then booked (a payment, any rest as credit), credited (all of it the client's credit), not ours,
    or reversed by the bank. Money going out is kept but never matched."""

    MATCHED = "matched"
    QUEUED = "queued"
    BOOKED = "booked"
    CREDITED = "credited"
    NOT_OURS = "not_ours"
    REVERSED = "reversed"
    OUTGOING = "outgoing"


OPEN_STATUSES = (LineStatus.MATCHED, LineStatus.QUEUED)
SETTLED_STATUSES = (LineStatus.BOOKED, LineStatus.CREDITED)


class BankAccount(Table, tablename="bank_accounts"):
    """One of the firm's accounts: statements for it are imported, and only for it."""

    id: Serial  # the primary key Piccolo adds, declared for the type checker
    name = Varchar(length=120)
    iban = Varchar(length=34, unique=True)
    currency = Varchar(length=3)
    auto_book_threshold = Integer(default=90)  # a match at least this sure is booked without a person
    csv_mapping = Text(default="")  # bank.formats.CsvMapping as JSON; "" until the bank's CSV columns are mapped
    created_at = Timestamptz()


class BankImport(Table, tablename="bank_imports"):
    """One uploaded file and what became of its lines."""

    id: Serial
    account = ForeignKey(references=BankAccount, index=True, on_delete=OnDelete.restrict)
    filename = Varchar(length=200, default="")
    file_format = Varchar(length=8)
    imported_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    imported_at = Timestamptz()
    statements = Integer(default=0)
    lines = Integer(default=0)
    duplicates = Integer(default=0)  # lines an earlier import already holds
    matched = Integer(default=0)
    queued = Integer(default=0)
    outgoing = Integer(default=0)


class BankLine(Table, tablename="bank_lines"):
    """One transaction of a statement, kept once however often its statement is imported
    (unique_key: the bank's reference, or a hash where the bank gives none)."""

    id: Serial
    account = ForeignKey(references=BankAccount, index=True, on_delete=OnDelete.restrict)
    bank_import = ForeignKey(references=BankImport, index=True, on_delete=OnDelete.restrict)
    unique_key = Varchar(length=100, unique=True)
    bank_reference = Varchar(length=120, default="")
    end_to_end_id = Varchar(length=120, default="")
    booked_on = Date()
    amount_minor = BigInt()  # positive: money in
    currency = Varchar(length=3)
    reversal = Boolean(default=False)
    payer_name = Varchar(length=200, default="")
    payer_iban = Varchar(length=34, default="", index=True)
    text = Text(default="")
    status = Varchar(length=10, index=True)  # LineStatus
    confidence = Integer(default=0)
    reason = Text(default="")  # the match's reason: {"message": msgid, "params": {...}} as JSON
    client = ForeignKey(references=Client, null=True, index=True, on_delete=OnDelete.restrict)  # the suggested or booked client
    suggestion = Text(default="")  # [[invoice id, amount], ...] as JSON
    payment = ForeignKey(references=Payment, null=True, on_delete=OnDelete.set_null)
    credit_payment = ForeignKey(references=Payment, null=True, on_delete=OnDelete.set_null)
    reverses = Integer(null=True, default=None)  # the bank line a reversal undid
    decided_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    decided_at = Timestamptz(null=True, default=None)
    note = Text(default="")


class PayerAccount(Table, tablename="bank_payer_accounts"):
    """An IBAN known to pay for a client: learned when staff confirm a match, or entered."""

    id: Serial
    client = ForeignKey(references=Client, index=True, on_delete=OnDelete.cascade)
    iban = Varchar(length=34, unique=True)
    learned_at = Timestamptz()
    learned_from = Integer(null=True, default=None)  # the bank line whose confirmation taught it
