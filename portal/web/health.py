from litestar import get
from litestar.response import Response

from portal import db


@get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    try:
        await db.engine().run_ddl("SELECT 1")
        status, code = "ok", 200
    except Exception as exc:  # the point is to report it, not to crash
        status, code = f"error: {type(exc).__name__}", 503
    engine = "postgresql" if db.is_postgres() else "sqlite"
    return Response({"status": "ok" if code == 200 else "degraded", "database": {"engine": engine, "status": status}}, status_code=code)
