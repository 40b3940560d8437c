"""Pure decisions for layout variants and the technical spec: what an uploaded file really is,
a safe file name, the spec and decision forms, and an order's stage in the client's words.

Messages are English message ids (marked with N_); the page that shows them translates them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from portal.messages import N_
from portal.orders.rules import Stage
from portal.web.forms import Checked

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # 10 MiB per layout file
MAX_LABEL = 120
MAX_SPEC_TEXT = 4000
MAX_COMMENT = 2000
SIGNATURE_MIN, SIGNATURE_MAX = 2, 200


@dataclass(frozen=True)
class FileKind:
    content_type: str
    extension: str
    name: str  # what people call it


PNG = FileKind("image/png", ".png", "PNG")
JPEG = FileKind("image/jpeg", ".jpg", "JPEG")
PDF = FileKind("application/pdf", ".pdf", "PDF")
KINDS_BY_TYPE = {k.content_type: k for k in (PNG, JPEG, PDF)}

# Only the bytes decide: never the name the browser sent, never its content type.
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG), (b"%PDF-", PDF))
_PROGRAMS = (b"\x7fELF", b"MZ", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"PK\x03\x04")


def parse_id(raw: object) -> int | None:
    """A database id typed or posted as ASCII digits ("²" and "١" are digits too, but not ids)."""
    text = str(raw).strip() if raw is not None else ""
    return int(text) if re.fullmatch(r"[0-9]{1,18}", text) else None


def sniff(data: bytes) -> FileKind | None:
    """PNG, JPEG or PDF by the file's first bytes; None for anything else."""
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    return None


def looks_like_program(data: bytes) -> bool:
    """An executable, script or archive (ELF, Windows MZ, Mach-O, #!, zip)."""
    return data.startswith(_PROGRAMS)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]+')


def sanitise_filename(name: str, fallback: str = "layout") -> str:
    """The client's file name made safe to store and show: no folders, no control characters,
    no quotes or separators, no leading dots, at most 255 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if not name or set(name) <= {"_", " ", "."}:
        return fallback
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot and stem else ""
        name = (name[: 255 - len(ext) - 1] + "." + ext) if ext else name[:255]
    return name


def download_name(original_name: str, kind: FileKind) -> str:
    """The name a served file carries: the sanitised original with the extension of what it really is."""
    name = sanitise_filename(original_name)
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        if "." + ext.lower() in (kind.extension, ".jpeg" if kind is JPEG else kind.extension):
            return name
        name = stem
    return name[: 255 - len(kind.extension)] + kind.extension


def content_disposition(original_name: str, kind: FileKind, disposition: str = "inline") -> str:
    """`inline; filename="ascii"; filename*=UTF-8''...` (RFC 6266): safe for any original name."""
    name = download_name(original_name, kind)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9._ ()+-]", "_", ascii_name).strip() or "layout" + kind.extension
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def check_variant_upload(label: str, original_name: str, data: bytes, size: int | None = None) -> Checked:
    """A designer's upload: the file (by content) and its label. `size` is the real size when the
    caller read only the first MAX_UPLOAD_BYTES + 1 bytes."""
    out = Checked()
    v, e = out.values, out.errors
    size = len(data) if size is None else size
    v["original_name"] = sanitise_filename(original_name)
    v["size_bytes"] = size
    v["kind"] = None
    if size == 0:
        e["file"] = N_("Choose a file: the one you sent is empty.")
    elif size > MAX_UPLOAD_BYTES:
        e["file"] = N_("The file is larger than 10 MiB; export it smaller (e.g. a lower-resolution preview) and try again.")
    elif looks_like_program(data):
        e["file"] = N_("This file is a program or an archive, not a layout. Only PNG, JPEG and PDF files are accepted.")
    else:
        v["kind"] = sniff(data)
        if v["kind"] is None:
            e["file"] = N_("Only PNG, JPEG and PDF files are accepted, and this file is none of them (whatever its name says).")
    v["label"] = label.strip()
    if len(v["label"]) > MAX_LABEL:
        e["label"] = N_("Keep the label under 120 characters.")
    return out


def check_spec_form(form: dict[str, str], chosen_variant_ids: list[str], order_variant_ids: set[int]) -> Checked:
    """The coordinator's draft: the chosen variants (of this order only) and the texts."""
    out = Checked()
    v, e = out.values, out.errors
    ids: list[int] = []
    for raw in chosen_variant_ids:
        variant_id = parse_id(raw)
        if variant_id is None or variant_id not in order_variant_ids:
            e["variant_ids"] = N_("Choose among this order's layout variants.")
            break
        if variant_id not in ids:
            ids.append(variant_id)
    v["variant_ids"] = sorted(ids)
    for name in ("materials", "finishing", "quantities", "contract_note"):
        v[name] = (form.get(name) or "").strip()
        if len(v[name]) > MAX_SPEC_TEXT:
            e[name] = N_("Keep this under 4000 characters.")
    return out


def check_sendable(spec: dict) -> str | None:
    """Why a draft cannot be sent yet (a message id), or None."""
    if not spec.get("variant_ids"):
        return N_("Choose at least one layout variant before sending the spec: the client approves a layout.")
    return None


def check_approval(form: dict[str, str], spec_variant_ids: list[int]) -> Checked:
    """The client's approval: one variant of the spec and a typed signature."""
    out = Checked()
    v, e = out.values, out.errors
    variant_id = parse_id(form.get("variant_id"))
    v["variant_id"] = variant_id if variant_id in spec_variant_ids else None
    if v["variant_id"] is None:
        e["variant_id"] = N_("Choose the layout variant you approve.")
    v["signature_name"] = re.sub(r"\s+", " ", form.get("signature_name") or "").strip()
    if not SIGNATURE_MIN <= len(v["signature_name"]) <= SIGNATURE_MAX:
        e["signature_name"] = N_("Type your full name (2 to 200 characters) to sign the approval.")
    return out


def check_change_request(form: dict[str, str], spec_variant_ids: list[int]) -> Checked:
    """The client's change request: a comment per variant (fields comment_<id>), at least one."""
    out = Checked()
    v, e = out.values, out.errors
    comments: dict[str, str] = {}
    for variant_id in spec_variant_ids:
        text = (form.get(f"comment_{variant_id}") or "").strip()
        if len(text) > MAX_COMMENT:
            e[f"comment_{variant_id}"] = N_("Keep each comment under 2000 characters.")
        elif text:
            comments[str(variant_id)] = text
    v["change_requests"] = comments
    if not comments and not e:
        e["comments"] = N_("Tell us what to change: write a comment on at least one variant.")
    return out


# --- the order as the client sees it -------------------------------------------------------

_CLIENT_STAGE = {
    Stage.REQUEST: N_("We have your request and are preparing the layouts"),
    Stage.LAYOUT: N_("We are drawing your layouts"),
    Stage.SPEC_SENT: N_("Waiting for your approval of the spec"),
    Stage.SPEC_APPROVED: N_("Waiting for your prepayment"),
    Stage.AWAITING_PREPAYMENT: N_("Waiting for your prepayment"),
    Stage.IN_PRODUCTION: N_("In production"),
    Stage.DELIVERED: N_("Delivered"),
    Stage.CLOSED: N_("Completed"),
    Stage.CANCELLED: N_("Cancelled"),
}


def client_stage(stage: Stage, paid_in_full: bool = False, on_credit_hold: bool = False) -> str:
    """Where the order is, in the client's words (a message id)."""
    if stage in (Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT) and paid_in_full:
        if on_credit_hold:
            return N_("Approved and paid, but on credit hold: production waits until your overdue balance is paid")
        return N_("Approved and paid: we are scheduling production")
    return _CLIENT_STAGE[stage]


@dataclass(frozen=True)
class NextStep:
    text: str  # a message id; may name %(version)s, %(invoice)s
    link: str = ""  # where the client does it ("" : nothing to click)
    action: bool = False  # True: the client must act


def client_next_step(order_id: int, stage: Stage, *, sent_version: int | None, paid_in_full: bool,
                     invoice_code: str = "", on_credit_hold: bool = False, invoice_id: int | None = None) -> NextStep:
    """What the client must do next (or that nothing is needed from them)."""
    if stage is Stage.SPEC_SENT and sent_version is not None:
        return NextStep(N_("Review and approve the spec"), f"/client/orders/{order_id}#spec", True)
    if stage in (Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT) and paid_in_full and on_credit_hold:
        return NextStep(N_("Pay your overdue invoices: production starts when the credit hold is lifted"), "/client/invoices", True)
    if stage in (Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT) and not paid_in_full:
        if invoice_code:
            return NextStep(N_("Pay invoice %(invoice)s in full: production starts when it is paid"),
                            f"/client/invoices/{invoice_id}" if invoice_id else "", True)
        return NextStep(N_("Pay the prepayment: production starts when it is paid"), "", True)
    if stage in (Stage.REQUEST, Stage.LAYOUT):
        return NextStep(N_("Nothing for now: we will send you the spec to approve"))
    if stage in (Stage.SPEC_APPROVED, Stage.AWAITING_PREPAYMENT, Stage.IN_PRODUCTION):
        return NextStep(N_("Nothing for now: we will tell you when it ships"))
    return NextStep("")
