"""What goes over the wire: pages, CSS and JS compressed (brotli, else gzip); downloads as they are;
static files under fingerprinted names, cached for a year, and the plain name revalidated."""

from __future__ import annotations

import hashlib
import re

from portal.auth.roles import Role
from portal.settings import ROOT
from portal.web.compression import compressible
from portal.web.static import IMMUTABLE, StaticFiles
from tests.billing.test_documents import assert_pdf, romanian_invoice
from tests.factories import login, make_staff
from tests.reports.test_report_pages import world

STATIC = ROOT / "static"


def _digest(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:8]


async def _static_urls(client) -> dict[str, str]:
    """The addresses the login page's head names for the CSS, htmx, portal.js and the icon."""
    head = (await client.get("/login")).text.split("</head>")[0]
    found = re.findall(r'(?:href|src)="(/static/[^"]+)"', head)
    return {name: next(url for url in found if url.startswith(f"/static/{name.rsplit('.', 1)[0]}.")) for name in
            ("css/portal.css", "vendor/htmx-2.0.11.min.js", "js/portal.js", "favicon.svg")}


async def test_the_page_links_every_static_file_by_its_fingerprint(client):
    urls = await _static_urls(client)
    assert urls["css/portal.css"] == f"/static/css/portal.{_digest('css/portal.css')}.css"
    assert urls["vendor/htmx-2.0.11.min.js"] == f"/static/vendor/htmx-2.0.11.min.{_digest('vendor/htmx-2.0.11.min.js')}.js"
    assert urls["js/portal.js"] == f"/static/js/portal.{_digest('js/portal.js')}.js"
    assert urls["favicon.svg"] == f"/static/favicon.{_digest('favicon.svg')}.svg"
    templates = [p for p in (ROOT / "templates").rglob("*.html") if re.search(r'(?:href|src)="/static/', p.read_text())]
    assert templates == [], "every template names static files through static_url()"


async def test_a_fingerprinted_file_is_served_for_a_year_with_its_own_bytes(client):
    urls = await _static_urls(client)
    for name, url in urls.items():
        response = await client.get(url, headers={"accept-encoding": "identity"})
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert response.content == (STATIC / name).read_bytes()
        assert "set-cookie" not in response.headers  # nothing private on what every cache may keep
    assert (await client.get(urls["css/portal.css"])).headers["content-type"].startswith("text/css")
    assert (await client.get(urls["js/portal.js"])).headers["content-type"].startswith("text/javascript")


async def test_the_plain_name_is_revalidated_and_an_unknown_fingerprint_is_missing(client):
    plain = await client.get("/static/css/portal.css")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"
    assert plain.content == (STATIC / "css/portal.css").read_bytes()
    again = await client.get("/static/css/portal.css", headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for missing in ("/static/css/portal.00000000.css", "/static/css/portal.deadbeef.css", "/static/nothing.css",
                    "/static/../portal/app.py", "/static/%2e%2e/portal/settings.py"):
        assert (await client.get(missing)).status_code == 404, missing


def test_an_edited_file_gets_a_new_name_and_the_old_one_is_gone(tmp_path):
    (tmp_path / "css").mkdir()
    css = tmp_path / "css" / "site.css"
    css.write_text("body { color: red; }")
    files = StaticFiles(tmp_path, watch=True)
    first = files.url("css/site.css")
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{8}\.css", first)
    css.write_text("body { color: blue; }  /* longer, so the size and time both change */")
    second = files.url("css/site.css")
    assert second != first
    assert files.find(second.removeprefix("/static/"))[0].body == css.read_bytes()
    assert files.find(first.removeprefix("/static/")) is None
    frozen = StaticFiles(tmp_path, watch=False)  # production: the manifest of start-up
    assert frozen.url("css/site.css") == second


async def test_pages_css_and_js_are_compressed_with_brotli_or_gzip(client):
    urls = await _static_urls(client)
    for url in ("/login", urls["css/portal.css"], urls["vendor/htmx-2.0.11.min.js"], urls["js/portal.js"]):
        plain = await client.get(url, headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers, url
        for asked, encoding in (("gzip", "gzip"), ("gzip, deflate, br", "br"), ("br", "br")):
            response = await client.get(url, headers={"accept-encoding": asked})
            assert response.status_code == 200
            assert response.headers["content-encoding"] == encoding, (url, asked)
            assert "accept-encoding" in response.headers["vary"].lower()
            assert int(response.headers["content-length"]) < len(plain.content) / 2, (url, asked)
            assert response.content == plain.content  # httpx decodes both


async def test_pdf_and_xlsx_downloads_are_sent_as_they_are(client):
    _client_id, invoice = await romanian_invoice()
    await login(client, await make_staff(Role.CREDIT_CONTROLLER))
    response = await client.get(f"/staff/invoices/{invoice['id']}/pdf", headers={"accept-encoding": "gzip, br"})
    pdf = assert_pdf(response, f"{invoice['code']}.pdf")
    assert "content-encoding" not in response.headers and pdf.startswith(b"%PDF")
    await world()
    xlsx = await client.get("/staff/reports/export/aging?group=client&format=xlsx", headers={"accept-encoding": "gzip, br"})
    assert xlsx.status_code == 200 and "content-encoding" not in xlsx.headers and xlsx.content.startswith(b"PK")
    csv = await client.get("/staff/reports/export/aging?group=client&format=csv", headers={"accept-encoding": "gzip"})
    assert csv.status_code == 200  # text: compressed when it is long enough to gain


def test_only_text_is_compressed():
    for text in ("text/html; charset=utf-8", "text/css", "text/javascript", "application/json", "image/svg+xml", "text/csv; charset=utf-8"):
        assert compressible(text), text
    for binary in ("application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "image/png", "image/jpeg", ""):
        assert not compressible(binary), binary


async def test_the_stripe_webhook_answer_is_not_compressed(client):
    response = await client.post("/webhooks/stripe", content=b"{}" * 400, headers={"accept-encoding": "gzip, br"})
    assert "content-encoding" not in response.headers


async def test_a_request_another_site_started_is_not_compressed(client):
    """BREACH needs compressed pages for requests the attacker's site makes the browser send."""
    for site, encoded in (("cross-site", False), ("same-site", False), ("same-origin", True), ("none", True)):
        response = await client.get("/login?q=guess", headers={"accept-encoding": "gzip, br", "sec-fetch-site": site})
        assert ("content-encoding" in response.headers) is encoded, site
