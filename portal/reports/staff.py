from litestar import Controller, get
from litestar.response import Template

from portal.clock import utcnow
from portal.reports import service
from portal.web.guards import staff_only
from portal.web.responses import page


class DashboardController(Controller):
    path = "/staff"
    guards = [staff_only]

    @get("/")
    async def dashboard(self) -> Template:
        return page("staff/dashboard.html", figures=await service.dashboard(utcnow().date()))
