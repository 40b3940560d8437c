"""Layout files by content, safe names, the spec and decision forms, the client's words: pure functions."""

import pytest
from hypothesis import given, strategies as st

from portal.orders.rules import Stage
from portal.orders.specs import rules as r

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"\x00" * 32


@pytest.mark.parametrize("data,kind", [(PNG, r.PNG), (JPEG, r.JPEG), (PDF, r.PDF)])
def test_the_bytes_decide_the_type(data, kind):
    assert r.sniff(data) is kind
    checked = r.check_variant_upload("A", "whatever.exe", data)
    assert checked.ok and checked.values["kind"] is kind


@pytest.mark.parametrize("data,name", [
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 40, "layout.png"),
    (b"MZ\x90\x00" + b"\x00" * 40, "layout.jpg"),
    (b"#!/bin/sh\nrm -rf /\n", "layout.pdf"),
    (b"PK\x03\x04" + b"\x00" * 30, "layout.pdf"),
])
def test_a_renamed_program_is_refused_whatever_its_name(data, name):
    checked = r.check_variant_upload("A", name, data)
    assert not checked.ok and "program" in checked.errors["file"]
    assert r.sniff(data) is None


@pytest.mark.parametrize("data", [b"GIF89a" + b"\x00" * 20, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"\x89PNG", b"%PDF", b"\xff\xd8", b"hello"])
def test_other_types_and_truncated_signatures_are_refused(data):
    checked = r.check_variant_upload("A", "x.png", data)
    assert not checked.ok and "Only PNG, JPEG and PDF" in checked.errors["file"]


def test_empty_and_oversized_files_are_refused():
    assert "empty" in r.check_variant_upload("A", "a.png", b"").errors["file"]
    too_big = PNG + b"\x00" * (r.MAX_UPLOAD_BYTES + 1 - len(PNG))
    assert "larger than 10 MiB" in r.check_variant_upload("A", "a.png", too_big).errors["file"]
    exactly = PNG + b"\x00" * (r.MAX_UPLOAD_BYTES - len(PNG))
    assert r.check_variant_upload("A", "a.png", exactly).ok


def test_label_length():
    assert r.check_variant_upload("x" * 121, "a.png", PNG).errors == {"label": "Keep the label under 120 characters."}
    assert r.check_variant_upload("  ", "a.png", PNG).values["label"] == ""


@pytest.mark.parametrize("raw,safe", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\Desktop\\layout A.png", "layout A.png"),
    ('bad"name;.png', "bad_name_.png"),
    ("..hidden.pdf", "hidden.pdf"),
    ("line\r\nbreak.png", "line_break.png"),
    ("", "layout"),
    ("...", "layout"),
    ("Macheta ștampilă.pdf", "Macheta ștampilă.pdf"),
])
def test_sanitise_filename(raw, safe):
    assert r.sanitise_filename(raw) == safe


@given(st.text(max_size=400))
def test_a_sanitised_name_is_always_safe(raw):
    name = r.sanitise_filename(raw)
    assert name and len(name) <= 255
    assert not any(c in name for c in '/\\"\r\n\x00;')
    assert not name.startswith(".")


def test_the_served_name_carries_the_real_extension():
    assert r.download_name("layout.png", r.PNG) == "layout.png"
    assert r.download_name("photo.JPEG", r.JPEG) == "photo.JPEG"
    assert r.download_name("layout.png", r.PDF) == "layout.pdf"  # a PDF named .png is served as .pdf
    assert r.download_name("noext", r.JPEG) == "noext.jpg"


def test_content_disposition_is_safe_for_any_name():
    header = r.content_disposition('Machetă "A"; x.png', r.PNG)
    assert header.startswith('inline; filename="')
    assert "\r" not in header and "\n" not in header and header.count('"') == 2
    assert "filename*=UTF-8''Machet%C4%83%20_A_%20x.png" in header
    assert r.content_disposition("a.pdf", r.PDF, "attachment").startswith('attachment; filename="a.pdf"')


def test_spec_form_takes_only_this_orders_variants():
    checked = r.check_spec_form({"materials": " PVC 0.76 ", "finishing": "", "quantities": "5000", "contract_note": ""}, ["3", "1", "3"], {1, 3})
    assert checked.ok and checked.values["variant_ids"] == [1, 3] and checked.values["materials"] == "PVC 0.76"
    assert "variant_ids" in r.check_spec_form({}, ["99"], {1}).errors
    assert "materials" in r.check_spec_form({"materials": "x" * 4001}, [], set()).errors
    assert r.check_sendable({"variant_ids": []}) is not None and r.check_sendable({"variant_ids": [1]}) is None


def test_approval_needs_a_variant_of_the_spec_and_a_signature():
    assert r.check_approval({"variant_id": "2", "signature_name": " Ana   Pop "}, [1, 2]).values == {"variant_id": 2, "signature_name": "Ana Pop"}
    errors = r.check_approval({"variant_id": "7", "signature_name": "A"}, [1, 2]).errors
    assert set(errors) == {"variant_id", "signature_name"}
    assert "signature_name" in r.check_approval({"variant_id": "1", "signature_name": "x" * 201}, [1]).errors


def test_a_change_request_needs_one_comment():
    checked = r.check_change_request({"comment_1": " bigger logo ", "comment_2": "", "comment_9": "not in spec"}, [1, 2])
    assert checked.ok and checked.values["change_requests"] == {"1": "bigger logo"}
    assert "comments" in r.check_change_request({"comment_1": "  "}, [1]).errors
    assert "comment_1" in r.check_change_request({"comment_1": "x" * 2001}, [1]).errors


def test_every_stage_has_words_for_the_client():
    for stage in Stage:
        assert r.client_stage(stage)
    assert r.client_stage(Stage.LAYOUT) == "We are drawing your layouts"
    assert r.client_stage(Stage.SPEC_SENT) == "Waiting for your approval of the spec"
    assert r.client_stage(Stage.AWAITING_PREPAYMENT) == "Waiting for your prepayment"
    assert r.client_stage(Stage.SPEC_APPROVED, paid_in_full=True) != "Waiting for your prepayment"


def test_the_next_step_for_the_client():
    review = r.client_next_step(5, Stage.SPEC_SENT, sent_version=2, paid_in_full=False)
    assert review.text == "Review and approve the spec" and review.link == "/client/orders/5#spec" and review.action
    pay = r.client_next_step(5, Stage.SPEC_APPROVED, sent_version=None, paid_in_full=False, invoice_code="INV-1")
    assert pay.action and "%(invoice)s" in pay.text and not pay.link
    assert not r.client_next_step(5, Stage.LAYOUT, sent_version=None, paid_in_full=False).action
    assert not r.client_next_step(5, Stage.IN_PRODUCTION, sent_version=None, paid_in_full=True).action


@pytest.mark.parametrize("raw", ["²", "١", "-1", "1.0", " ", "", "9" * 30, None])
def test_odd_ids_are_refused_not_crashed_on(raw):
    assert r.parse_id(raw) is None
    assert "variant_id" in r.check_approval({"variant_id": raw or "", "signature_name": "Ana Pop"}, [1]).errors
    assert "variant_ids" in r.check_spec_form({}, [raw or "x"], {1}).errors
    assert r.parse_id(" 42 ") == 42
