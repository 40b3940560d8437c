"""The one Piccolo app of the portal; its migrations live in ../migrations/."""

from piccolo.conf.apps import AppConfig

from portal.audit.tables import AuditEvent
from portal.auth.tables import LoginAttempt, Session, User
from portal.bank.tables import BankAccount, BankImport, BankLine, PayerAccount
from portal.billing.stripe.tables import CheckoutAttempt, StripeEvent
from portal.billing.tables import Invoice, InvoiceCounter, InvoiceLine, Payment, PaymentAllocation
from portal.calendar.tables import CalendarFeed
from portal.clients.tables import Client, ClientNotice, Contact
from portal.dunning.engine.tables import DunningAction, DunningState
from portal.dunning.escalation.tables import Pause
from portal.dunning.ladders.tables import ClientLadder, Ladder, LadderStep, SegmentLadder
from portal.dunning.letters.tables import Letter
from portal.dunning.reasons.tables import CallOutcome, DelayReason
from portal.dunning.sanctions.tables import Sanction
from portal.mail.tables import EmailMessage
from portal.negotiation.tables import (
    Dispute,
    Installment,
    LinkAttempt,
    Schedule,
    ScheduleInvoice,
    ScheduleVersion,
    ShareLink,
)
from portal.orders.tables import LayoutVariant, Order, TechnicalSpec
from portal.reports.tables import ClientMonth, StepMonth, SummaryMark
from portal.settings import ROOT
from portal.tasks.tables import Notification, Task

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=str(ROOT / "migrations"),
    table_classes=[
        Client,
        User,
        Contact,
        Session,
        LoginAttempt,
        AuditEvent,
        Order,
        LayoutVariant,
        TechnicalSpec,
        InvoiceCounter,
        Invoice,
        InvoiceLine,
        Payment,
        PaymentAllocation,
        StripeEvent,
        CheckoutAttempt,
        Task,
        Notification,
        Ladder,
        LadderStep,
        SegmentLadder,
        ClientLadder,
        DunningAction,
        DunningState,
        Pause,
        DelayReason,
        CallOutcome,
        Sanction,
        Letter,
        ClientNotice,
        CalendarFeed,
        EmailMessage,
        Schedule,
        ScheduleInvoice,
        ScheduleVersion,
        Installment,
        ShareLink,
        LinkAttempt,
        Dispute,
        BankAccount,
        BankImport,
        BankLine,
        PayerAccount,
        ClientMonth,
        StepMonth,
        SummaryMark,
    ],
    migration_dependencies=[],
    commands=[],
)
