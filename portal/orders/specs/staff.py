"""Staff routes for an order's layout variants (designers) and technical spec (spec coordinators).

A refused request re-renders the order page with the message beside the field (status 400);
a successful one redirects to the order page (303)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Response, Template

from portal.orders import service
from portal.orders.specs import rules as spec_rules, service as specs
from portal.orders.staff import order_page_context
from portal.web.flash import flash
from portal.web.forms import form_data
from portal.web.guards import allowed, staff_only
from portal.web.i18n import gettext as _
from portal.web.responses import actor, found_or_404, page, see_other

DESIGNERS = allowed("draw_layouts")
COORDINATORS = allowed("write_specs")
# The whole multipart body: the file plus the label, the CSRF token and the part headers.
UPLOAD_BODY_LIMIT = spec_rules.MAX_UPLOAD_BYTES + 1024 * 1024
# No `sandbox` for PDFs: browsers refuse to show a sandboxed PDF inline; the upload was checked to be a PDF.
PDF_POLICY = "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:"
IMAGE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
def upload_dir(request: Request) -> Path:
    return request.app.state.settings.upload_dir


async def serve_variant(found: tuple[dict, Path] | None, download: bool) -> Response:
    """A layout file, exactly as stored: its sniffed type, never sniffed again by the browser."""
    variant, path = found_or_404(found)
    kind = spec_rules.KINDS_BY_TYPE[variant["content_type"]]
    content = await asyncio.to_thread(path.read_bytes)
    return Response(
        content=content,
        media_type=kind.content_type,
        headers={
            "Content-Disposition": spec_rules.content_disposition(variant["original_name"], kind, "attachment" if download else "inline"),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": PDF_POLICY if kind is spec_rules.PDF else IMAGE_POLICY,
            "Cache-Control": "private, no-cache",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )


async def _refused(request: Request, order_id: int, **extra) -> Template:
    return page("orders/detail.html", status_code=400, **await order_page_context(request, order_id, **extra))


def _spec_form_values(form: dict[str, str], chosen: list[str]) -> dict:
    values = {name: form.get(name, "") for name in specs.SPEC_FIELDS}
    values["variant_ids"] = [i for i in map(spec_rules.parse_id, chosen) if i is not None]
    return values


def _spec_errors(exc: specs.SpecError) -> dict[str, str]:
    errors = {k: _(m) for k, m in exc.params.get("errors", {}).items()}
    if not errors:
        errors[exc.field] = _(exc.message, **{k: v for k, v in exc.params.items() if k != "errors"})
    return errors


class SpecsController(Controller):
    path = "/staff/orders/{order_id:int}"
    guards = [staff_only]

    @post("/variants", guards=[DESIGNERS], request_max_body_size=UPLOAD_BODY_LIMIT)
    async def upload_variant(self, request: Request, order_id: int) -> Response:
        found_or_404(await service.get_order(order_id))
        try:
            form = await request.form()
        except RequestEntityTooLarge:  # reached when the CSRF token came in a header (htmx)
            return await _refused(request, order_id, variant_errors={"file": _(
                "The file is larger than 10 MiB; export it smaller (e.g. a lower-resolution preview) and try again.")})
        label = form.get("label")
        label = label.strip() if isinstance(label, str) else ""
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await _refused(request, order_id, variant_values={"label": label},
                                  variant_errors={"file": _("Choose a PNG, JPEG or PDF file to upload.")})
        data = await upload.read(spec_rules.MAX_UPLOAD_BYTES + 1)  # never more than the limit in memory
        try:
            variant_id, checked = await specs.upload_variant(
                order_id, label=label, original_name=upload.filename, data=data, size=None,
                actor=actor(request), upload_dir=upload_dir(request),
            )
        except specs.SpecError as exc:
            return await _refused(request, order_id, variant_values={"label": label}, variant_errors={exc.field: _(exc.message)})
        finally:
            await upload.close()
        if variant_id is None:
            return await _refused(request, order_id, variant_values={"label": label},
                                  variant_errors={k: _(m) for k, m in checked.errors.items()})
        flash(request, _("Layout variant %(label)s uploaded.", label=checked.values["label"] or checked.values["original_name"]))
        return see_other(f"/staff/orders/{order_id}")

    @get("/variants/{variant_id:int}")
    async def variant(self, request: Request, order_id: int, variant_id: int, download: bool = False) -> Response:
        return await serve_variant(await specs.variant_file(order_id, variant_id, upload_dir(request)), download)

    @post("/spec", guards=[COORDINATORS])
    async def save_spec(self, request: Request, order_id: int) -> Response:
        found_or_404(await service.get_order(order_id))
        form = await form_data(request)
        chosen = (await request.form()).getall("variant_ids", [])
        try:
            version = await specs.save_draft(order_id, form, chosen, actor(request))
        except specs.SpecError as exc:
            return await _refused(request, order_id, spec_values=_spec_form_values(form, chosen), spec_errors=_spec_errors(exc))
        flash(request, _("Draft of spec version %(version)s saved.", version=version))
        return see_other(f"/staff/orders/{order_id}")

    @post("/spec/send", guards=[COORDINATORS])
    async def send_spec(self, request: Request, order_id: int) -> Response:
        """With the draft form's fields: save them and send, in one go; without: send the saved draft."""
        found_or_404(await service.get_order(order_id))
        form = await form_data(request)
        chosen = (await request.form()).getall("variant_ids", [])
        with_form = any(name in form for name in specs.SPEC_FIELDS)
        raw_version = form.get("version", "")
        try:
            version = await specs.send_spec(
                order_id, actor(request), form=form if with_form else None, chosen=chosen,
                version=spec_rules.parse_id(raw_version),
            )
        except specs.SpecError as exc:
            values = _spec_form_values(form, chosen) if with_form else {}
            return await _refused(request, order_id, spec_errors=_spec_errors(exc), **({"spec_values": values} if values else {}))
        flash(request, _("Spec version %(version)s sent to the client.", version=version))
        return see_other(f"/staff/orders/{order_id}")
