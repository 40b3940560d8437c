"""create_app(): plugins, middleware, routers; nothing else."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.plugins.htmx import HTMXPlugin

from portal import db
from portal.accounts.client import ClientAccountController
from portal.accounts.staff import StaffAccountController, StaffUsersController
from portal.auth.public import AuthController
from portal.bank.staff import BankAccountsController, BankController
from portal.billing.client import ClientInvoicesController
from portal.billing.documents.client import ClientInvoiceDocuments
from portal.billing.documents.staff import StaffInvoiceDocuments
from portal.billing.staff import ClientPaymentsController, InvoicesController
from portal.billing.stripe.client import ClientPaymentsController as ClientPayOnlineController
from portal.billing.stripe.public import stripe_webhook
from portal.calendar.staff import CalendarController, calendar_feed
from portal.clients.client import ClientHomeController
from portal.clients.staff import ClientsController
from portal.dunning.ladders.staff import LaddersController
from portal.dunning.letters.staff import InvoiceCaseFileController, LettersController
from portal.dunning.reasons.staff import DelayReasonsController
from portal.dunning.worklist.staff import DunningWorklistController
from portal.mail.staff import OutboxController
from portal.negotiation.disputes.client import ClientDisputesController, ClientPromisesController
from portal.negotiation.disputes.staff import DisputesController
from portal.negotiation.links.public import ShareLinkPages
from portal.negotiation.links.staff import ScheduleLinksController
from portal.negotiation.schedules.client import ClientSchedulePrint, ClientSchedulesController
from portal.negotiation.schedules.staff import StaffSchedulePrint, StaffSchedulesController
from portal.orders.client import ClientOrdersController
from portal.orders.specs.staff import SpecsController
from portal.orders.staff import OrdersController
from portal.reports.staff import DashboardController, ReportsController
from portal.settings import ROOT, Settings, load_settings
from portal.tasks.staff import NotificationsController, TasksController
from portal.tick import scheduler as dunning_scheduler
from portal.web.compression import compression_config
from portal.web.errors import EXCEPTION_HANDLERS, no_such_page
from portal.web.guards import ids_in_range
from portal.web.health import healthz
from portal.web.session import session_middleware
from portal.web.static import StaticFiles, static_file
from portal.web.templating import template_config

CSRF_EXEMPT = ["/webhooks/stripe"]  # signed by Stripe instead
NO_WAY_TO_PAY = ("No way to pay is configured: clients can neither pay online nor see where to transfer money. "
                 "Set STRIPE_SECRET_KEY (online payment) or FIRM_BANK_DETAILS (bank transfer).")


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or load_settings()
    engine = db.bind(db.engine_for(settings.database_url))
    static_files = StaticFiles(ROOT / "static", watch=not settings.production)  # read and fingerprinted once
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not settings.takes_payments:
        logging.getLogger("portal").warning(NO_WAY_TO_PAY)

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with db.pool(engine, settings.db_pool_size), dunning_scheduler(settings):
            yield

    return Litestar(
        route_handlers=[
            AuthController,
            DashboardController,
            ReportsController,
            ClientsController,
            OrdersController,
            StaffInvoiceDocuments,
            ClientInvoiceDocuments,
            ClientPayOnlineController,
            stripe_webhook,
            InvoicesController,
            ClientPaymentsController,
            BankController,
            BankAccountsController,
            StaffUsersController,
            StaffAccountController,
            ClientAccountController,
            ClientHomeController,
            ClientInvoicesController,
            TasksController,
            DunningWorklistController,
            NotificationsController,
            CalendarController,
            calendar_feed,
            DelayReasonsController,
            OutboxController,
            LaddersController,
            LettersController,
            InvoiceCaseFileController,
            SpecsController,
            ClientOrdersController,
            ClientSchedulesController,
            StaffSchedulesController,
            ClientPromisesController,
            ClientDisputesController,
            DisputesController,
            ScheduleLinksController,
            ShareLinkPages,
            StaffSchedulePrint,
            ClientSchedulePrint,
            healthz,
            no_such_page,
            static_file,
        ],
        state=State({"settings": settings, "static_files": static_files}),
        middleware=[session_middleware(settings)],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="portal_csrf",
            cookie_secure=settings.production,
            cookie_samesite="lax",
            cookie_httponly=True,  # templates carry the token; scripts never need to read the cookie
            header_name="x-csrftoken",
            exclude=[*CSRF_EXEMPT, "^/static/"],  # static files: no Set-Cookie on a response every cache may keep
        ),
        template_config=template_config(settings, static_files),
        compression_config=compression_config(),
        plugins=[HTMXPlugin()],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=ids_in_range,
        lifespan=[lifespan],
        openapi_config=None,
        debug=False,
    )
