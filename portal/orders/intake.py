"""Pure validation of the intake form: the client's request and the price its invoice carries."""

from __future__ import annotations

import datetime as dt
import re

from portal.clients.rules import parse_percent_bp
from portal.money import percent_of
from portal.web.forms import Checked
from portal.web.i18n import gettext as _
from portal.web.local_input import amount_input_value, date_input_value, parse_amount, parse_date

MAX_QUANTITY = 10_000_000
VAT_RATES_BP = (0, 500, 900, 1900, 2000, 2700)


def discount_of(unit_price_minor: int, discount_bp: int) -> int:
    return percent_of(unit_price_minor, discount_bp)


def check_intake(form: dict[str, str], today: dt.date, currency: str = "EUR") -> Checked:
    out = Checked()
    v, e = out.values, out.errors
    raw_client = form.get("client_id", "")
    v["client_id"] = int(raw_client) if raw_client.isdigit() else None
    if v["client_id"] is None:
        e["client_id"] = _("Choose the client.")

    v["product"] = form.get("product", "")
    if not v["product"]:
        e["product"] = _("Say what the client wants, e.g. 'PVC loyalty cards, 0.76 mm, 4+4'.")
    elif len(v["product"]) > 200:
        e["product"] = _("Keep the product under 200 characters.")

    raw_qty = form.get("quantity", "").replace(" ", "").replace("\u00a0", "")
    v["quantity"] = int(raw_qty) if re.fullmatch(r"\d{1,9}", raw_qty) else None
    if v["quantity"] is None or not 1 <= v["quantity"] <= MAX_QUANTITY:
        e["quantity"] = _("Enter a whole quantity from 1 to %(max)s.", max=f"{MAX_QUANTITY:,}")

    for name, label in (("unit_price", "unit_price_minor"), ("setup_fee", "setup_fee_minor")):
        raw = form.get(name, "") or ("0" if name == "setup_fee" else "")
        try:
            v[label] = parse_amount(raw, currency)
        except ValueError:
            v[label] = None
            e[name] = _("Enter an amount such as %(example)s.", example=amount_input_value(125050, currency))
            continue
        if v[label] < 0 or (name == "unit_price" and v[label] == 0):
            e[name] = _("The unit price must be more than zero.") if name == "unit_price" else _("The fee cannot be negative.")

    v["unit_cost_minor"] = None  # optional: empty is unknown
    raw_cost = form.get("unit_cost", "").strip()
    if raw_cost:
        try:
            v["unit_cost_minor"] = parse_amount(raw_cost, currency)
        except ValueError:
            e["unit_cost"] = _("Enter an amount such as %(example)s.", example=amount_input_value(125050, currency))
        else:
            if v["unit_cost_minor"] < 0:
                e["unit_cost"] = _("The unit cost cannot be negative.")

    vat = parse_percent_bp(form.get("vat_rate", "") or "0")
    if vat is None or vat not in VAT_RATES_BP:
        e["vat_rate"] = _("Choose a VAT rate.")
    v["vat_rate_bp"] = vat

    raw_date = form.get("wanted_date", "")
    v["wanted_date"] = None
    if raw_date:
        wanted = parse_date(raw_date)
        if wanted is None:
            e["wanted_date"] = _("Enter a date such as %(example)s.", example=date_input_value(today + dt.timedelta(days=21)))
        else:
            if wanted < today:
                e["wanted_date"] = _("The wanted date cannot be in the past.")
            v["wanted_date"] = wanted
    v["options"] = form.get("options", "")[:2000]
    v["notes"] = form.get("notes", "")[:4000]
    v["mine"] = form.get("mine") in ("on", "true", "1")
    return out

