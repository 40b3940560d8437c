"""ISO 20022 bank-to-customer cash management: camt.053 statements, camt.052 reports and camt.054
debit/credit notifications, any version (001.02 to 001.12), read with pycamt.

pycamt (Camt053Parser) parses with lxml, resolve_entities=False and no_network=True, finds <Stmt>
and <Rpt>, and extracts the parties, IBANs, EndToEndId and every Ustrd of a TxDtls. CamtParser
subclasses it for what it does not fit:

- camt.054: pycamt looks for Stmt and Rpt only; _find_statements_or_reports also finds <Ntfctn>.
  The XML is still parsed by pycamt's own __init__, so the same guarded parser reads camt.054.
- A document whose namespace has a prefix (<ns2:Document xmlns:ns2="...camt.053...">): pycamt's
  find() calls use the root's nsmap, which then has no default namespace, and find nothing; the
  subclass maps the root's namespace as the default one.
- pycamt's per-entry fields are found with ".//X", the first X anywhere below the entry, so an entry
  without its own AcctSvcrRef takes a TxDtls's, and a TxDtls without its own CdtDbtInd takes the one
  of a charges record (TxDtls/Chrgs/Rcrd/CdtDbtInd, camt.053.001.04+), which flips the sign of the
  payment. The subclass reads those fields as direct children.
- The amount of a TxDtls: pycamt takes its first ".//Amt", in camt.053.001.02 that is
  AmtDtls/InstdAmt (the amount instructed, possibly in another currency), not TxAmt, and drops its
  currency. The subclass reads TxDtls/Amt, else AmtDtls/TxAmt/Amt, with the currency.
- pycamt keeps only the first structured reference (Strd/CdtrRefInf/Ref); the subclass keeps all.
- get_transactions() returns one flat list for the whole file; a file with several statements needs
  the entries per statement, so parse_camt walks the statements itself.

Beyond pycamt's parser settings (entities are not expanded, nothing is fetched, and libxml2 itself
refuses entity amplification such as "billion laughs"), a document with a DOCTYPE is refused
outright: no bank sends one.

What a line is made of:
- Only booked entries are taken (Sts BOOK, Sts/Cd BOOK, or no status); pending (PDNG), information
  (INFO) and future (FUTR) entries are skipped.
- A batch entry (several TxDtls) becomes one line per TxDtls with its own amount when every TxDtls
  gives one in the entry's currency and they add up to the entry's amount; otherwise the entry is one
  line of its own amount, with the texts of all its TxDtls.
- bank_reference: the entry's AcctSvcrRef, else its NtryRef, else the TxDtls's Refs/AcctSvcrRef; a line
  split from a batch takes its own TxDtls's AcctSvcrRef first.
- The counterparty of a credit is the debtor, of a debit the creditor, and the other way round for a
  reversal: a reversal (RvslInd true) keeps the parties of the entry it reverses, so a returned
  incoming payment (a DBIT) names its payer as the Dbtr.
- text: every Ustrd, then every structured CdtrRefInf/Ref and AddtlRmtInf; when there is none,
  AddtlTxInf of the TxDtls, else AddtlNtryInf of the entry.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from pycamt.parser import Camt053ParseError, Camt053Parser

from portal.bank.formats.model import Statement, StatementError, StatementLine, clean_iban, clean_text, to_minor
from portal.messages import N_

# The message roots of camt.052, camt.053 and camt.054.
ROOTS = {"BkToCstmrAcctRpt": "camt.052", "BkToCstmrStmt": "camt.053", "BkToCstmrDbtCdtNtfctn": "camt.054"}
_NAMESPACE = re.compile(r"camt\.05[234]\.")
# A DOCTYPE in the prolog, caught before any parser sees it (ASCII-compatible encodings; a UTF-16 one is caught after parsing).
_DOCTYPE = re.compile(rb"\s*(?:<\?xml[^>]*\?>)?\s*(?:<!--.*?-->\s*)*<!DOCTYPE", re.DOTALL)


def _split_tag(tag: object) -> tuple[str, str]:
    """'{namespace}Local' -> (namespace, Local); comments and processing instructions have no str tag."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


class CamtParser(Camt053Parser):
    """pycamt's parser, adapted for camt.054, prefixed namespaces and the fields listed in the module docstring."""

    def __init__(self, xml_data: bytes):
        super().__init__(xml_data)  # pycamt's guarded lxml parser: resolve_entities=False, no_network=True
        namespace, _ = _split_tag(self.tree.tag)
        self.namespaces = {None: namespace} if namespace else {}

    def message_kind(self) -> str:
        """camt.052, camt.053 or camt.054, from the root's namespace or the message element under it; "" when neither says camt."""
        namespace, _ = _split_tag(self.tree.tag)
        for child in self.tree:
            kind = ROOTS.get(_split_tag(child.tag)[1])
            if kind:
                return kind
        found = _NAMESPACE.search(namespace)
        return found.group(0)[:-1] if found else ""

    def has_doctype(self) -> bool:
        docinfo = self.tree.getroottree().docinfo
        return bool(docinfo.doctype) or docinfo.internalDTD is not None or docinfo.externalDTD is not None

    def _find_statements_or_reports(self):
        for xmlpath in (".//Stmt", ".//Rpt", ".//Ntfctn"):
            found = self.tree.findall(xmlpath, self.namespaces)
            if found:
                return found
        raise Camt053ParseError()

    def _child_text(self, element, path: str) -> str:
        found = self._find_text(element, path)
        return found.strip() if found else ""

    def _date_text(self, element, path: str) -> str:
        return self._child_text(element, f"{path}/Dt") or self._child_text(element, f"{path}/DtTm")

    def _extract_common_entry_data(self, entry, statement):
        # Not pycamt's own: it searches the whole statement for the account's IBAN once per entry,
        # which made a 10,000-entry file take 140 s; every field it reads is read here from the entry.
        data: dict[str, Any] = {}
        amount = entry.find("Amt", self.namespaces)
        data.update({
            "Amount": amount.text if amount is not None else None,
            "Currency": amount.get("Ccy") if amount is not None else None,
            "TransactionID": self._child_text(entry, "AcctSvcrRef"),
            "EntryReference": self._child_text(entry, "NtryRef"),
            "CreditDebitIndicator": self._child_text(entry, "CdtDbtInd"),
            "ReversalIndicator": self._child_text(entry, "RvslInd"),
            "Status": self._parse_status(entry.find("Sts", self.namespaces)),
            "BookingDate": self._date_text(entry, "BookgDt"),
            "ValueDate": self._date_text(entry, "ValDt"),
            "AdditionalEntryInformation": self._child_text(entry, "AddtlNtryInf"),
        })
        return data

    def _extract_transaction_details(self, tx_detail):
        data = super()._extract_transaction_details(tx_detail)
        amount = tx_detail.find("Amt", self.namespaces)
        if amount is None:
            amount = tx_detail.find("AmtDtls/TxAmt/Amt", self.namespaces)
        structured = []
        for strd in tx_detail.findall("RmtInf/Strd", self.namespaces):
            structured += [ref.text for ref in strd.findall("CdtrRefInf/Ref", self.namespaces) if ref.text]
            structured += [info.text for info in strd.findall("AddtlRmtInf", self.namespaces) if info.text]
        data.update({
            "TxAmount": amount.text if amount is not None else None,
            "TxCurrency": amount.get("Ccy") if amount is not None else None,
            "TxCreditDebitIndicator": self._child_text(tx_detail, "CdtDbtInd"),
            "TxAccountServicerReference": self._child_text(tx_detail, "Refs/AcctSvcrRef"),
            "StructuredReferences": structured,
            "AdditionalTransactionInformation": self._child_text(tx_detail, "AddtlTxInf"),
            "Line": tx_detail.sourceline,
        })
        return data

    def entry_with_details(self, entry, statement) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The entry's own data and one dict per TxDtls, kept apart (pycamt's _extract_transaction merges them)."""
        common = self._extract_common_entry_data(entry, statement)
        details = [
            self._extract_transaction_details(tx)
            for entry_details in entry.findall("NtryDtls", self.namespaces)
            for tx in entry_details.findall("TxDtls", self.namespaces)
        ]
        return common, details


def _date(text: str, *, line: object) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise StatementError(N_("Line %(line)s: the date %(value)s is not a valid date."), line=line, value=text) from None


def _end_to_end(detail: dict[str, Any]) -> str:
    value = clean_text(detail.get("EndToEndId"))
    return "" if value.upper() == "NOTPROVIDED" else value


def _remittance(detail: dict[str, Any]) -> str:
    return clean_text(detail.get("RemittanceInformationFull"), *detail.get("StructuredReferences", []))


def _counterparty(detail: dict[str, Any], *, debtor: bool) -> tuple[str, str]:
    if debtor:
        return clean_text(detail.get("DebtorName")), clean_iban(detail.get("DebtorIBAN"))
    return clean_text(detail.get("CreditorName")), clean_iban(detail.get("CreditorIBAN"))


def _sign(indicator: str, *, line: object) -> int:
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise StatementError(
        N_("Line %(line)s: the entry is marked neither as a credit nor as a debit (CdtDbtInd %(value)s)."), line=line, value=indicator,
    )


def _entry_lines(parser: CamtParser, entry, statement) -> list[StatementLine]:
    common, details = parser.entry_with_details(entry, statement)
    status = (common.get("Status") or "").strip().upper()
    if status and status != "BOOK":
        return []
    line = entry.sourceline
    currency = (common.get("Currency") or "").strip().upper()
    if not (common.get("Amount") or "").strip():
        raise StatementError(N_("Line %(line)s: the entry has no amount."), line=line)
    sign = _sign(common["CreditDebitIndicator"], line=line)
    amount = sign * to_minor(common["Amount"], currency, line=line)
    booked = common["BookingDate"] or common["ValueDate"]
    if not booked:
        raise StatementError(N_("Line %(line)s: the entry has no booking date."), line=line)
    booked_on = _date(booked, line=line)
    value_date = _date(common["ValueDate"], line=line) if common["ValueDate"] else None
    reversal = common["ReversalIndicator"].lower() in ("true", "1")
    entry_reference = common["TransactionID"] or common["EntryReference"]
    fallback_text = clean_text(common.get("AdditionalEntryInformation"))

    def make(amount_minor: int, detail: dict[str, Any], reference: str) -> StatementLine:
        # The counterparty of money in is the debtor; a reversal keeps the parties of the entry it reverses.
        name, iban = _counterparty(detail, debtor=(amount_minor > 0) != reversal)
        text = _remittance(detail) or clean_text(detail.get("AdditionalTransactionInformation")) or fallback_text
        return StatementLine(
            booked_on=booked_on, value_date=value_date, amount_minor=amount_minor, currency=currency, reversal=reversal,
            bank_reference=reference, end_to_end_id=_end_to_end(detail), payer_name=name, payer_iban=iban, text=text,
        )

    if not details:
        return [make(amount, {}, entry_reference)]
    if len(details) == 1:
        return [make(amount, details[0], entry_reference or details[0]["TxAccountServicerReference"])]
    split = []
    for detail in details:
        tx_currency = (detail.get("TxCurrency") or "").strip().upper()
        if not (detail.get("TxAmount") or "").strip() or tx_currency != currency:
            break
        tx_line = detail["Line"] or line
        tx_sign = _sign(detail["TxCreditDebitIndicator"], line=tx_line) if detail["TxCreditDebitIndicator"] else sign
        split.append((tx_sign * to_minor(detail["TxAmount"], currency, line=tx_line), detail))
    if len(split) == len(details) and sum(part for part, _ in split) == amount:
        return [make(part, detail, detail["TxAccountServicerReference"] or entry_reference) for part, detail in split]
    # One line for the whole batch: the texts of all its transactions, and what they all agree on.
    merged: dict[str, Any] = {"RemittanceInformationFull": " ".join(_remittance(detail) for detail in details)}
    for key in ("EndToEndId", "DebtorName", "DebtorIBAN", "CreditorName", "CreditorIBAN"):
        values = {clean_text(detail.get(key)) for detail in details}
        if len(values) == 1:
            merged[key] = values.pop()
    return [make(amount, merged, entry_reference)]


def parse_camt(data: bytes) -> list[Statement]:
    if not data.strip():
        raise StatementError(N_("The file is empty."))
    if _DOCTYPE.match(data.removeprefix(b"\xef\xbb\xbf")):
        raise StatementError(N_("The XML file declares a document type (DOCTYPE). Bank statements never do, so it was not read."))
    try:
        parser = CamtParser(data)
    except SyntaxError as error:  # lxml's XMLSyntaxError, also what libxml2 says of an entity bomb
        raise StatementError(N_("The file is not valid XML: the problem is at line %(line)s."), line=error.lineno or 1) from None
    except ValueError:
        raise StatementError(N_("The file is not valid XML: the problem is at line %(line)s."), line=1) from None
    if parser.has_doctype():
        raise StatementError(N_("The XML file declares a document type (DOCTYPE). Bank statements never do, so it was not read."))
    if not parser.message_kind():
        raise StatementError(N_("This XML file is not a camt.052, camt.053 or camt.054 bank statement."))
    try:
        found = parser._find_statements_or_reports()
    except Camt053ParseError:
        raise StatementError(N_("The camt file holds no statement (no Stmt, Rpt or Ntfctn element).")) from None
    statements = []
    for statement in found:
        iban = parser._child_text(statement, "Acct/Id/IBAN") or parser._child_text(statement, "Acct/Id/Othr/Id")
        lines: list[StatementLine] = []
        for entry in statement.findall("Ntry", parser.namespaces):
            lines += _entry_lines(parser, entry, statement)
        statements.append(Statement(
            iban=clean_iban(iban),
            currency=parser._child_text(statement, "Acct/Ccy").upper(),
            statement_id=parser._child_text(statement, "Id"),
            lines=tuple(lines),
        ))
    return statements
