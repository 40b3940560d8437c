"""The bank pages' forms checked: an account with its CSV columns, and a person's split."""

from __future__ import annotations

from portal.bank.formats import CsvMapping
from portal.bank.formats.model import clean_iban, iban_is_valid
from portal.money import CURRENCIES
from portal.web.forms import Checked
from portal.web.i18n import gettext as _
from portal.web.local_input import amount_input_value, parse_amount

CSV_FIELDS = ("delimiter", "skip_rows", "date_column", "date_format", "amount_column", "credit_column", "debit_column",
              "decimal_separator", "currency_column", "text_column", "payer_name_column", "payer_iban_column", "reference_column", "encoding")
DELIMITERS = {";": ";", ",": ",", "tab": "\t", "|": "|"}
DATE_FORMATS = ("%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%m/%d/%Y", "%Y.%m.%d")
ENCODINGS = ("utf-8", "cp1250", "cp1251", "iso-8859-2")


def account_values(account: dict) -> dict[str, str]:
    """An account as its form shows it (the CSV columns spread into their fields)."""
    mapping = CsvMapping.from_json(account["csv_mapping"]) if account.get("csv_mapping") else CsvMapping()
    values = {"name": account["name"], "iban": account["iban"], "currency": account["currency"],
              "auto_book_threshold": str(account["auto_book_threshold"]), "csv_enabled": "on" if account.get("csv_mapping") else ""}
    for name in CSV_FIELDS:
        values[name] = str(getattr(mapping, name))
    values["delimiter"] = next((key for key, char in DELIMITERS.items() if char == mapping.delimiter), ";")
    return values


def check_account(form: dict[str, str]) -> Checked:
    checked = Checked()
    checked.name(form, _("Name the account, e.g. the bank and what it is for."), limit=120)
    iban = clean_iban(form.get("iban", ""))
    checked.values["iban"] = iban
    if not iban:
        checked.errors["iban"] = _("Enter the account's IBAN.")
    elif not iban_is_valid(iban):
        checked.errors["iban"] = _("This is not a valid IBAN: check the letters and digits.")
    currency = form.get("currency", "")
    checked.values["currency"] = currency
    if currency not in CURRENCIES:
        checked.errors["currency"] = _("Choose the account's currency.")
    raw = form.get("auto_book_threshold", "90") or "90"
    if not raw.isdigit() or not 50 <= int(raw) <= 101:
        checked.errors["auto_book_threshold"] = _("Enter a number from 50 to 101 (101: never book without a person).")
    else:
        checked.values["auto_book_threshold"] = int(raw)
    checked.values["csv_mapping"] = _check_mapping(form, checked) if form.get("csv_enabled") else ""
    return checked


def _check_mapping(form: dict[str, str], checked: Checked) -> str:
    delimiter = DELIMITERS.get(form.get("delimiter", ";"))
    if delimiter is None:
        checked.errors["delimiter"] = _("Choose the separator of the bank's columns.")
    skip = form.get("skip_rows", "0") or "0"
    if not skip.isdigit() or int(skip) > 50:
        checked.errors["skip_rows"] = _("Enter how many lines come before the header row (0 to 50).")
    if form.get("date_format") not in DATE_FORMATS:
        checked.errors["date_format"] = _("Choose how the bank writes dates.")
    if form.get("decimal_separator") not in (",", "."):
        checked.errors["decimal_separator"] = _("Choose the decimal separator.")
    if form.get("encoding") not in ENCODINGS:
        checked.errors["encoding"] = _("Choose the file's encoding.")
    if not form.get("date_column"):
        checked.errors["date_column"] = _("Name the column with the booking date, as in the file's header.")
    if not form.get("amount_column") and not (form.get("credit_column") or form.get("debit_column")):
        checked.errors["amount_column"] = _("Name the amount column, or the credit and debit columns.")
    if checked.errors:
        return ""
    columns = {name: form.get(name, "")[:80] for name in CSV_FIELDS if name.endswith("_column")}
    return CsvMapping(delimiter=delimiter or ";", skip_rows=int(skip), date_format=form["date_format"],
                      decimal_separator=form["decimal_separator"], encoding=form["encoding"], **columns).to_json()


def split_parts(form: dict[str, str], currency: str) -> tuple[dict[int, int], dict[str, str]]:
    """The amounts typed per invoice (fields part-<invoice id>), in the reader's number format."""
    parts, errors = {}, {}
    for key, raw in form.items():
        if not key.startswith("part-") or not key[5:].isdigit():
            continue
        if not raw:
            parts[int(key[5:])] = 0
            continue
        try:
            parts[int(key[5:])] = parse_amount(raw, currency)
        except ValueError:
            errors[key] = _("Enter an amount such as %(example)s.", example=amount_input_value(123456, currency))
    return parts, errors

