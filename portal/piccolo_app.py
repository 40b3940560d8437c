"""The one Piccolo app of the portal; its migrations live in ../migrations/."""

from piccolo.conf.apps import AppConfig

from portal.audit.tables import AuditEvent
from portal.auth.tables import LoginAttempt, Session, User
from portal.billing.stripe_tables import CheckoutAttempt, StripeEvent
from portal.billing.tables import Invoice, InvoiceCounter, InvoiceLine, Payment, PaymentAllocation
from portal.clients.tables import Client, Contact
from portal.dunning.tables import (
    CalendarFeed, CallOutcome, ClientLadder, ClientNotice, DelayReason, DunningAction, DunningState, Ladder,
    LadderStep, Letter, Pause, Sanction, SegmentLadder,
)
from portal.mail.tables import EmailMessage
from portal.negotiation.tables import (
    Dispute, Installment, LinkAttempt, Schedule, ScheduleInvoice, ScheduleVersion, ShareLink,
)
from portal.orders.tables import LayoutVariant, Order, TechnicalSpec
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
    ],
    migration_dependencies=[],
    commands=[],
)
