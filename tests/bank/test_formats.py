"""Bank statement files read into statement lines: camt.052/053/054, MT940 and mapped CSV, on sample
files shaped like real bank exports (tests/bank/samples/), and every kind of malformed file refused
with a message for the person who uploaded it."""

from __future__ import annotations

import dataclasses
import datetime
import time
from pathlib import Path

import pytest

from portal.bank.formats import FORMATS, CsvMapping, Statement, StatementError, StatementLine, detect_format, parse
from portal.bank.formats.camt import CamtParser
from portal.bank.formats.csv_mapped import _amount

SAMPLES = Path(__file__).parent / "samples"
D = datetime.date

RO_MAPPING = CsvMapping(
    delimiter=";", skip_rows=2, date_column="Data tranzactie", amount_column="Suma", currency_column="Moneda",
    text_column="Descriere", payer_name_column="Platitor/Beneficiar", payer_iban_column="Cont", reference_column="Referinta",
    encoding="cp1250",
)
CREDIT_DEBIT_MAPPING = CsvMapping(
    delimiter=",", date_column="Booking date", date_format="%Y-%m-%d", credit_column="Credit", debit_column="Debit",
    decimal_separator=".", text_column="Details", payer_name_column="Counterparty", payer_iban_column="Counterparty IBAN",
    reference_column="Reference",
)
SIMPLE_MAPPING = CsvMapping(date_column="Data", amount_column="Suma", text_column="Detalii")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def refused(data: bytes, **kwargs) -> StatementError:
    """The StatementError parse raises; its message id formats with its own params."""
    with pytest.raises(StatementError) as caught:
        parse(data, **kwargs)
    error = caught.value
    assert error.args[0] == error.message
    assert "%(" not in error.message % error.params
    return error


def line(**fields) -> StatementLine:
    defaults = dict(value_date=None, reversal=False, bank_reference="", end_to_end_id="", payer_name="", payer_iban="", text="")
    return StatementLine(**{**defaults, **fields})


# camt.053.001.02: two statements, a batch, a debit, a reversal, a pending entry, an entry without AcctSvcrRef


def test_camt053_file_with_two_statements_gives_two_statements_with_their_accounts():
    statements = parse(sample("camt053_v02_two_statements.xml"))
    assert [(s.iban, s.currency, s.statement_id, len(s.lines)) for s in statements] == [
        ("RO78BTRL0000000123456789", "RON", "STMT-RON-20240301", 4),  # 4 booked lines: 1 + a batch of 2 + 1; the pending entry skipped
        ("RO86BTRL0001000123456789", "EUR", "STMT-EUR-20240301", 2),
    ]
    assert all(isinstance(s, Statement) and isinstance(s.lines, tuple) for s in statements)


def test_camt053_credit_with_diacritics_two_ustrd_and_a_spaced_lowercase_iban():
    first = parse(sample("camt053_v02_two_statements.xml"))[0].lines[0]
    assert first == line(
        booked_on=D(2024, 3, 1), value_date=D(2024, 3, 1), amount_minor=123456, currency="RON",
        bank_reference="BTRL240301000001", end_to_end_id="E2E-FV-1001",
        payer_name="Ștefănescu Țesături S.R.L.", payer_iban="RO09BCYP0000001234567890",
        text="Plată factura FV-1001 și FV-1002 parțial",  # both Ustrd; AddtlNtryInf only when there is nothing else
    )


def test_camt053_batch_entry_becomes_one_line_per_transaction_with_its_own_amount():
    ron = parse(sample("camt053_v02_two_statements.xml"))[0]
    first, second = ron.lines[1], ron.lines[2]
    # TxAmt, not the instructed 201.00 EUR that comes first in AmtDtls
    assert (first.amount_minor, first.currency, second.amount_minor) == (100000, "RON", 200000)
    assert first.amount_minor + second.amount_minor == 300000
    assert (first.bank_reference, first.end_to_end_id, first.payer_name, first.payer_iban, first.text) == (
        "BTRL240301000002-1", "E2E-FV-1003", "Bălan Agro S.R.L.", "RO11RNCB0082004530450001", "FV-1003",  # structured CdtrRefInf/Ref
    )
    assert (second.bank_reference, second.end_to_end_id, second.payer_name, second.payer_iban, second.text) == (
        "BTRL240301000002-2", "", "ŐRSÉGI Bútorgyártó Kft.", "HU42117730161111101800000000",  # NOTPROVIDED -> ""
        "Számla FV-1004 kiegyenlítése, köszönjük – űrlap 7",
    )


def test_camt053_pending_entry_is_skipped():
    lines = [ln for s in parse(sample("camt053_v02_two_statements.xml")) for ln in s.lines]
    assert 50000 not in [ln.amount_minor for ln in lines]
    assert not any("FV-1005" in ln.text or ln.bank_reference == "BTRL240301000003" for ln in lines)


def test_camt053_entry_without_acctsvcrref_takes_ntryref_and_its_additional_information():
    interest = parse(sample("camt053_v02_two_statements.xml"))[0].lines[3]
    assert interest == line(
        booked_on=D(2024, 3, 1), value_date=D(2024, 3, 1), amount_minor=25000, currency="RON",
        bank_reference="NTRY-0004", text="Dobânzi încasate luna februarie",
    )


def test_camt053_debit_is_negative_and_names_the_creditor():
    debit = parse(sample("camt053_v02_two_statements.xml"))[1].lines[0]
    assert debit == line(
        booked_on=D(2024, 3, 1), value_date=D(2024, 3, 1), amount_minor=-8990, currency="EUR",
        bank_reference="BTRL240301900001", end_to_end_id="PAY-2024-0301-7",
        payer_name="ТОВ «Київська Єдність»", payer_iban="UA213223130000026007233566001",
        text="Оплата рахунку №15: фурнітура, її доставка є",
    )


def test_camt053_reversal_of_a_credit_is_money_out_and_names_the_payer_of_the_reversed_payment():
    reversal = parse(sample("camt053_v02_two_statements.xml"))[1].lines[1]
    assert reversal == line(
        booked_on=D(2024, 3, 1), value_date=D(2024, 2, 28), amount_minor=-15000, currency="EUR", reversal=True,
        bank_reference="BTRL240301900002", end_to_end_id="E2E-BG-2024-017",
        payer_name="Българска Търговска Къща ООД", payer_iban="BG80BNBG96611020345678",
        text="Сторно: плащане по фактура ФВ-2024-017, възстановяване",
    )


def test_camt_batch_whose_amounts_do_not_add_up_stays_one_line_of_the_entry_amount():
    data = sample("camt053_v02_two_statements.xml").replace(b'<TxAmt><Amt Ccy="RON">2000.00</Amt>', b'<TxAmt><Amt Ccy="RON">1999.00</Amt>')
    ron = parse(data)[0]
    assert len(ron.lines) == 3
    batch = ron.lines[1]
    assert (batch.amount_minor, batch.bank_reference, batch.payer_name, batch.end_to_end_id) == (300000, "BTRL240301000002", "", "")
    assert batch.text == "FV-1003 Számla FV-1004 kiegyenlítése, köszönjük – űrlap 7"


def test_camt_batch_without_amounts_per_transaction_stays_one_line():
    data = sample("camt053_v02_two_statements.xml")
    data = data.replace(b'<TxAmt><Amt Ccy="RON">1000.00</Amt></TxAmt>', b"").replace(b'<TxAmt><Amt Ccy="RON">2000.00</Amt></TxAmt>', b"")
    data = data.replace(b'<InstdAmt><Amt Ccy="EUR">201.00</Amt></InstdAmt>', b"")
    assert [ln.amount_minor for ln in parse(data)[0].lines] == [123456, 300000, 25000]


# camt.053.001.08, camt.054, camt.052


def test_camt053_v08_status_codes_datetime_booking_party_names_and_several_structured_references():
    (statement,) = parse(sample("camt053_v08.xml"))
    assert (statement.iban, statement.currency, statement.statement_id) == ("HU64117730162222202900000000", "HUF", "HU-2024-065")
    assert statement.lines[0] == line(
        booked_on=D(2024, 3, 5), value_date=D(2024, 3, 5), amount_minor=25400000, currency="HUF",  # a CRDT though its charges record says DBIT
        bank_reference="OTP20240305-1", end_to_end_id="HU-E2E-88",
        payer_name="Győri Űrtechnika Kft.", payer_iban="HU42117730161111101800000000",
        text="Átutalás FV-2001 FV-2002 ŐSZI RENDELÉS",
    )
    # The pending entry (Sts/Cd PDNG) is skipped; the batch of a credit and a debit adds up to the entry's 40 000 HUF.
    assert [(ln.amount_minor, ln.bank_reference, ln.payer_name, ln.text) for ln in statement.lines[1:]] == [
        (5000000, "OTP20240305-3-A", "Szőke Ödön egyéni vállalkozó", "FV-2003"),
        (-1000000, "OTP20240305-3-B", "OTP Bank Nyrt.", "Csoportos beszedés díja"),
    ]


def test_camt054_notification_is_read_like_a_statement():
    (notification,) = parse(sample("camt054_v02.xml"))
    assert (notification.iban, notification.currency, notification.statement_id) == ("RO54RZBR0000060012345678", "RON", "NTF-20240304-17")
    assert notification.lines == (
        line(
            booked_on=D(2024, 3, 4), value_date=D(2024, 3, 4), amount_minor=789012, currency="RON",
            bank_reference="RZB2024030400017", end_to_end_id="FV1010-FV1011",
            payer_name="Țară Lemn Șerban & Fiii S.R.L.", payer_iban="RO09BCYP0000001234567890",
            text="Contravaloare facturi FV-1010, FV-1011 — mulțumim",
        ),
        # no Sts: taken
        line(booked_on=D(2024, 3, 4), amount_minor=-1250, currency="RON", bank_reference="RZB2024030400018", text="Comision incasare"),
    )


CAMT052_PREFIXED = """<?xml version="1.0" encoding="UTF-8"?>
<ns2:Document xmlns:ns2="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02">
  <ns2:BkToCstmrAcctRpt>
    <ns2:GrpHdr><ns2:MsgId>R1</ns2:MsgId><ns2:CreDtTm>2024-03-07T12:00:00</ns2:CreDtTm></ns2:GrpHdr>
    <ns2:Rpt>
      <ns2:Id>INTRADAY-0307</ns2:Id>
      <ns2:Acct><ns2:Id><ns2:IBAN>BG95UNCR70001523456789</ns2:IBAN></ns2:Id><ns2:Ccy>BGN</ns2:Ccy></ns2:Acct>
      <ns2:Ntry>
        <ns2:Amt Ccy="BGN">99.99</ns2:Amt><ns2:CdtDbtInd>CRDT</ns2:CdtDbtInd><ns2:Sts>BOOK</ns2:Sts>
        <ns2:BookgDt><ns2:Dt>2024-03-07</ns2:Dt></ns2:BookgDt><ns2:AcctSvcrRef>UC-1</ns2:AcctSvcrRef>
        <ns2:NtryDtls><ns2:TxDtls>
          <ns2:RltdPties><ns2:Dbtr><ns2:Nm>Ъгъл ЕООД</ns2:Nm></ns2:Dbtr></ns2:RltdPties>
          <ns2:RmtInf><ns2:Ustrd>Фактура 0000001234</ns2:Ustrd></ns2:RmtInf>
        </ns2:TxDtls></ns2:NtryDtls>
      </ns2:Ntry>
      <ns2:Ntry>
        <ns2:Amt Ccy="BGN">10.00</ns2:Amt><ns2:CdtDbtInd>CRDT</ns2:CdtDbtInd><ns2:Sts>INFO</ns2:Sts>
        <ns2:BookgDt><ns2:Dt>2024-03-07</ns2:Dt></ns2:BookgDt>
      </ns2:Ntry>
    </ns2:Rpt>
  </ns2:BkToCstmrAcctRpt>
</ns2:Document>
""".encode()


def test_camt052_report_with_a_prefixed_namespace():
    assert detect_format(CAMT052_PREFIXED) == "camt"
    (report,) = parse(CAMT052_PREFIXED)
    assert (report.iban, report.currency, report.statement_id) == ("BG95UNCR70001523456789", "BGN", "INTRADAY-0307")
    assert report.lines == (
        line(booked_on=D(2024, 3, 7), amount_minor=9999, currency="BGN", bank_reference="UC-1", payer_name="Ъгъл ЕООД", text="Фактура 0000001234"),
    )


# camt refused


def _one_entry(amount: str = '<Amt Ccy="RON">10.00</Amt>', booked: str = "<BookgDt><Dt>2024-03-01</Dt></BookgDt>", indicator: str = "CRDT") -> bytes:
    return f"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>S</Id>
<Ntry>
{amount}<CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>{booked}
</Ntry></Stmt></BkToCstmrStmt></Document>""".encode()


def test_camt_with_an_amount_that_is_not_a_number_names_its_line():
    error = refused(sample("malformed/camt_bad_amount.xml"))
    assert error.message == "Line %(line)s: the amount %(value)s is not a number."
    assert error.params == {"line": 13, "value": "12,50"}


def test_camt_unknown_currency_is_named():
    error = refused(_one_entry(amount='<Amt Ccy="GBP">10.00</Amt>'))
    assert error.params == {"line": 3, "currency": "GBP"}
    assert "GBP" in str(error)


def test_camt_amount_with_more_decimals_than_the_currency_has():
    error = refused(_one_entry(amount='<Amt Ccy="EUR">10.005</Amt>'))
    assert str(error) == "Line 3: the amount 10.005 has more decimals than EUR has (2)."


def test_camt_entry_without_booking_date_amount_or_direction():
    assert refused(_one_entry(booked="")).message == "Line %(line)s: the entry has no booking date."
    assert refused(_one_entry(amount="")).message == "Line %(line)s: the entry has no amount."
    assert refused(_one_entry(booked="<BookgDt><Dt>2024-02-30</Dt></BookgDt>")).params == {"line": 3, "value": "2024-02-30"}
    assert refused(_one_entry(indicator="")).params == {"line": 3, "value": ""}


def test_not_xml_is_refused_with_the_line_of_the_problem():
    error = refused(sample("malformed/not_xml.xml"))
    assert (error.message, error.params) == ("The file is not valid XML: the problem is at line %(line)s.", {"line": 8})
    assert refused(b"<Document", fmt="camt").params == {"line": 1}
    assert refused(b"Data;Suma\n01.03.2024;1,00\n", fmt="camt").message.startswith("The file is not valid XML")


def test_xml_that_is_not_camt_is_refused():
    error = refused(sample("malformed/not_camt_pain001.xml"))
    assert error.message == "This XML file is not a camt.052, camt.053 or camt.054 bank statement."
    assert refused(b"<html><body>statement</body></html>").message == error.message


def test_billion_laughs_is_refused_at_once():
    started = time.monotonic()
    error = refused(sample("malformed/billion_laughs.xml"))
    assert "DOCTYPE" in error.message
    assert time.monotonic() - started < 1


def test_external_entity_is_refused_and_never_read():
    error = refused(sample("malformed/xxe.xml"))
    assert "DOCTYPE" in error.message
    assert "root:" not in str(error)


def test_the_xml_parser_itself_neither_expands_entities_nor_reads_files():
    """What stands behind the DOCTYPE refusal: pycamt's lxml parser settings, which the camt.054 path shares."""
    with pytest.raises(SyntaxError):  # libxml2 refuses the amplification
        CamtParser(sample("malformed/billion_laughs.xml"))
    parser = CamtParser(sample("malformed/xxe.xml"))
    assert parser.has_doctype()
    assert "root:" not in (parser.tree.find(".//AddtlNtryInf", parser.namespaces).text or "")
    notification = sample("malformed/xxe.xml").replace(b"camt.053", b"camt.054").replace(b"BkToCstmrStmt", b"BkToCstmrDbtCdtNtfctn")
    notification = notification.replace(b"<Stmt>", b"<Ntfctn>").replace(b"</Stmt>", b"</Ntfctn>")
    parser = CamtParser(notification)
    assert parser.message_kind() == "camt.054"
    assert "root:" not in (parser.tree.find(".//AddtlNtryInf", parser.namespaces).text or "")


def test_doctype_in_a_utf16_file_is_refused_after_parsing():
    data = sample("malformed/xxe.xml").decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert "DOCTYPE" in refused(data, fmt="camt").message


# MT940


def test_mt940_file_with_two_messages_gives_two_statements():
    statements = parse(sample("mt940_two_messages.sta"))
    assert [(s.iban, s.currency, s.statement_id, len(s.lines)) for s in statements] == [
        ("RO78BTRL0000000123456789", "RON", "00061/001", 2),
        ("RO78BTRL0000000123456789", "RON", "00062/001", 2),  # :25: with the currency appended
    ]


def test_mt940_structured_86_gives_end_to_end_id_payer_iban_name_and_purpose():
    credit = parse(sample("mt940_two_messages.sta"))[0].lines[0]
    assert credit == line(
        booked_on=D(2024, 3, 1), value_date=D(2024, 3, 1), amount_minor=123456, currency="RON",
        bank_reference="BTRL240301-01", end_to_end_id="E2E-FV-1001",
        payer_name="ȘTEFĂNESCU ȚESĂTURI S.R.L.", payer_iban="RO09BCYP0000001234567890",
        text="Plată factura FV-1001 și FV-1002 parțial",  # ?21 and ?22 joined where the bank cut FV-1001
    )


def test_mt940_free_text_86_keeps_utf8_national_characters_and_the_statement_information_stays_out():
    debit = parse(sample("mt940_two_messages.sta"))[0].lines[1]
    assert debit == line(
        booked_on=D(2024, 3, 1), value_date=D(2024, 3, 1), amount_minor=-8990, currency="RON", bank_reference="BTRL240301-02",
        text="Plată furnizor ТОВ «Київська Єдність» рахунок №15, її доставка є",  # not "Sold final ...", the :86: after :62F:
    )


def test_mt940_reversal_of_a_credit_is_money_out():
    reversal, credit = parse(sample("mt940_two_messages.sta"))[1].lines
    assert reversal == line(
        booked_on=D(2024, 3, 2), value_date=D(2024, 3, 2), amount_minor=-15000, currency="RON", reversal=True,
        bank_reference="BTRL240302-01", end_to_end_id="E2E-BG-2024-017",
        payer_name="Българска Търговска Къща ООД", payer_iban="BG80BNBG96611020345678", text="Сторно плащане ФВ-2024-017 ъ",
    )
    # ?-subfields without the transaction code in front; EREF+NOTPROVIDED -> ""
    assert credit == line(
        booked_on=D(2024, 3, 2), value_date=D(2024, 3, 2), amount_minor=50000, currency="RON", bank_reference="BTRL240302-02",
        payer_name="GYŐRI ŰRTECHNIKA KFT.", payer_iban="HU42117730161111101800000000", text="FV-1020 Győri Űrtechnika",
    )


MT940_CP1250 = (
    ":20:HU-0305\r\n:25:HU64117730162222202900000000\r\n:28C:65/1\r\n:60F:C240304HUF1000000,00\r\n"
    ":61:2403040305D12500,NMSCNONREF//OTP-1\r\n:86:Díj: ăşţ Őrség űrlap\r\n"
    ":61:2403050305RD100,NMSCNONREF//OTP-2\r\n:86:Visszatérítés\r\n"
    ":62F:C240305HUF987600,00\r\n"
)


def test_mt940_in_cp1250_keeps_national_characters():
    data = MT940_CP1250.encode("cp1250")
    assert detect_format(data) == "mt940"
    (statement,) = parse(data)
    assert (statement.iban, statement.currency, statement.statement_id) == ("HU64117730162222202900000000", "HUF", "65/1")
    fee, refund = statement.lines
    assert (fee.booked_on, fee.value_date, fee.amount_minor, fee.text) == (D(2024, 3, 5), D(2024, 3, 4), -1250000, "Díj: ăşţ Őrség űrlap")
    assert (refund.amount_minor, refund.reversal, refund.bank_reference) == (10000, True, "OTP-2")  # RD: a reversed debit comes back in


def test_mt940_without_balances_takes_the_account_currency():
    data = b":20:X\n:25:RO78BTRL0000000123456789\n:28C:1\n:61:2403010301C10,00NTRFNONREF//R1\n:86:FV-1\n"
    (statement,) = parse(data, account_currency="ron")
    assert (statement.currency, statement.statement_id, statement.lines[0].currency, statement.lines[0].amount_minor) == ("", "1", "RON", 1000)
    assert refused(data).message == "Line %(line)s: the entry does not say its currency."


def test_mt940_without_61_is_refused():
    error = refused(sample("malformed/mt940_no_61.sta"))
    assert error.message == "The MT940 file has no transaction lines (:61:)."
    assert refused(sample("malformed/mt940_no_61.sta"), csv_mapping=SIMPLE_MAPPING).message == error.message


def test_mt940_unreadable_61_names_its_line():
    error = refused(sample("malformed/mt940_bad_61.sta"))
    assert error.params == {"line": 7, "tag": 61, "value": "24030X0301C100,00NTRFNONREF//A2"}


def test_mt940_impossible_date_is_refused():
    data = b":20:X\n:25:RO78BTRL0000000123456789\n:60F:C240229RON1,00\n:61:2413010301C10,00NTRFNONREF//R1\n"
    assert refused(data).params == {"line": 1}


def test_mt940_lines_without_transaction_type_are_refused_rather_than_merged():
    data = b":20:X\n:25:RO78BTRL0000000123456789\n:60F:C240229RON1,00\n:61:2403010301C10,00\n:86:a\n:61:2403010301C20,00\n:86:b\n"
    assert "transaction type" in refused(data).message


def test_mt940_data_naming_a_file_is_not_read_as_one():
    assert refused(b"/etc/hostname", fmt="mt940").message == "This is not an MT940 file: it has no :20: field."


# CSV


def test_csv_cp1250_with_preamble_ro_amounts_and_a_currency_column():
    (statement,) = parse(sample("csv_ro_cp1250.csv"), csv_mapping=RO_MAPPING, account_currency="RON")
    assert (statement.iban, statement.currency, statement.statement_id) == ("", "", "")
    assert statement.lines == (
        line(booked_on=D(2024, 3, 1), amount_minor=123456, currency="RON", bank_reference="BT-0001",
             payer_name="Ştefănescu Ţesături S.R.L.", payer_iban="RO09BCYP0000001234567890", text="Încasare factura FV-1001 şi FV-1002"),
        line(booked_on=D(2024, 3, 2), amount_minor=-250000, currency="RON", bank_reference="BT-0002",
             payer_name="Imobiliara Bârlad S.A.", payer_iban="RO11RNCB0082004530450001", text="Plată chirie martie"),
        line(booked_on=D(2024, 3, 4), amount_minor=1234500, currency="HUF", bank_reference="BT-0003",  # "12 345,00"
             payer_name="ŐRSÉGI Bútorgyártó Kft.", payer_iban="HU42117730161111101800000000", text="Számla FV-1004; köszönjük"),
        # the empty row is skipped; a quoted cell over two lines
        line(booked_on=D(2024, 3, 5), amount_minor=-1550, currency="RON", bank_reference="BT-0004",
             payer_name="Banca Transilvania", text="Comision administrare cont"),
    )


def test_csv_utf8_with_bom_and_separate_credit_and_debit_columns():
    (statement,) = parse(sample("csv_utf8_bom_credit_debit.csv"), csv_mapping=CREDIT_DEBIT_MAPPING, account_currency="EUR")
    assert statement.lines == (
        line(booked_on=D(2024, 3, 4), amount_minor=123456, currency="EUR", bank_reference="REF-1",
             payer_name="Българска Търговска Къща ООД", payer_iban="BG80BNBG96611020345678", text="Плащане ФВ-2024-018 ъ"),
        line(booked_on=D(2024, 3, 5), amount_minor=-8990, currency="EUR", bank_reference="REF-2",
             payer_name="ТОВ «Київська Єдність»", payer_iban="UA213223130000026007233566001", text="Оплата №15, її доставка є"),
        line(booked_on=D(2024, 3, 6), amount_minor=-1250, currency="EUR", bank_reference="REF-3",  # a debit written "-12.50" is still money out
             payer_name="Banca Transilvania", text="Comision lunar ș ț"),
    )


@pytest.mark.parametrize(("raw", "separator", "expected"), [
    ("1.234,56", ",", "1234.56"), ("-1.234,56", ",", "-1234.56"), ("1 234,56", ",", "1234.56"), ("1\u00a0234,5", ",", "1234.5"),
    ("1'234,56", ",", "1234.56"), ("(89,90)", ",", "-89.90"), ("89,90-", ",", "-89.90"), ("+5", ",", "5"), ("\u22122,00", ",", "-2.00"),
    ("1,234.56", ".", "1234.56"), ("1234.5", ".", "1234.5"), (",5", ",", "0.5"),
])
def test_csv_amount_notations(raw, separator, expected):
    assert str(_amount(raw, separator, line=1)) == expected


@pytest.mark.parametrize("raw", ["12,34,56", "5 RON", "abc", "-", "", "1,2e3", "NaN"])
def test_csv_amounts_that_are_not_numbers(raw):
    with pytest.raises(StatementError) as caught:
        _amount(raw, ",", line=4)
    assert caught.value.params == {"line": 4, "value": raw}


def test_csv_bad_amount_and_bad_date_name_their_line():
    error = refused(sample("malformed/csv_bad_amount.csv"), csv_mapping=SIMPLE_MAPPING, account_currency="RON")
    assert str(error) == "Line 3: the amount 12,34,56 is not a number."
    error = refused(sample("malformed/csv_bad_date.csv"), csv_mapping=SIMPLE_MAPPING, account_currency="RON")
    assert str(error) == "Line 3: the date 2024-03-02 does not match the format DD.MM.YYYY."


def test_csv_missing_column_names_it_and_lists_the_columns_there_are():
    mapping = dataclasses.replace(RO_MAPPING, payer_iban_column="IBAN platitor")
    error = refused(sample("csv_ro_cp1250.csv"), csv_mapping=mapping, account_currency="RON")
    assert error.params == {
        "column": "IBAN platitor", "line": 3,
        "columns": "Data tranzactie, Data valuta, Descriere, Platitor/Beneficiar, Cont, Suma, Moneda, Referinta",
    }


def test_csv_header_names_match_ignoring_case_and_spaces():
    data = b" DATA ;suma\n01.03.2024;1,00\n"
    (statement,) = parse(data, csv_mapping=CsvMapping(date_column="Data", amount_column="Suma"), account_currency="RON")
    assert statement.lines == (line(booked_on=D(2024, 3, 1), amount_minor=100, currency="RON"),)


def test_csv_in_another_encoding_than_the_mapping_says():
    error = refused(sample("csv_ro_cp1250.csv"), csv_mapping=dataclasses.replace(RO_MAPPING, encoding="utf-8"), account_currency="RON")
    assert error.params == {"encoding": "utf-8", "line": 4}


def test_csv_refusals_of_the_mapping_and_the_rows():
    data = b"Data;Suma\n01.03.2024;1,00\n"
    assert "date" in refused(data, csv_mapping=CsvMapping(amount_column="Suma"), account_currency="RON").message
    assert "amount" in refused(data, csv_mapping=CsvMapping(date_column="Data"), account_currency="RON").message
    assert "currency" in refused(data, csv_mapping=CsvMapping(date_column="Data", amount_column="Suma")).message
    mapping = CsvMapping(date_column="Data", amount_column="Suma", currency_column="Moneda")
    assert refused(b"Data;Suma;Moneda\n01.03.2024;1,00;GBP\n", csv_mapping=mapping).params == {"line": 2, "currency": "GBP"}
    plain = CsvMapping(date_column="Data", amount_column="Suma")
    assert str(refused(b"Data;Suma\n01.03.2024;\n", csv_mapping=plain, account_currency="RON")) == "Line 2: the amount is missing."
    assert str(refused(b"Data;Suma\n;5,00\n", csv_mapping=plain, account_currency="RON")) == "Line 2: the date is missing."
    assert refused(b"Data;Suma\n01.03.2024;0,001\n", csv_mapping=plain, account_currency="RON").params["digits"] == 2
    assert refused(b"one line\n", csv_mapping=dataclasses.replace(plain, skip_rows=3), account_currency="RON").params == {"count": 3}
    credit_debit = CsvMapping(date_column="Data", credit_column="In", debit_column="Out")
    assert str(refused(b"Data;In;Out\n01.03.2024;;\n", csv_mapping=credit_debit, account_currency="RON")) == "Line 2: the amount is missing."


def test_csv_without_a_mapping_asks_for_one():
    assert "CSV column mapping" in refused(sample("csv_ro_cp1250.csv")).message


def test_csv_mapping_round_trips_through_json():
    assert CsvMapping.from_json(RO_MAPPING.to_json()) == RO_MAPPING
    assert CsvMapping.from_json('{"date_column": "Dată", "retired_option": true}') == CsvMapping(date_column="Dată")
    assert "Dată" in CsvMapping(date_column="Dată").to_json()


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"skip_rows": "2"}', '{"delimiter": 5}', '{"skip_rows": true}'])
def test_csv_mapping_json_that_is_not_a_mapping(text):
    with pytest.raises(StatementError):
        CsvMapping.from_json(text)


@pytest.mark.parametrize("fields", [{"delimiter": ";;"}, {"delimiter": ""}, {"decimal_separator": " "}, {"skip_rows": -1}, {"encoding": "klingon-8"}])
def test_csv_mapping_that_cannot_work_is_refused(fields):
    with pytest.raises(StatementError):
        CsvMapping(**fields)


# detection, empty files, and nothing but StatementError for any cut of a good file


@pytest.mark.parametrize(("name", "expected"), [
    ("camt053_v02_two_statements.xml", "camt"), ("camt053_v08.xml", "camt"), ("camt054_v02.xml", "camt"),
    ("mt940_two_messages.sta", "mt940"), ("csv_ro_cp1250.csv", "csv"), ("csv_utf8_bom_credit_debit.csv", "csv"),
    ("malformed/not_xml.xml", "camt"), ("malformed/not_camt_pain001.xml", "csv"), ("malformed/mt940_no_61.sta", "csv"),
    ("malformed/mt940_bad_61.sta", "mt940"), ("malformed/csv_bad_date.csv", "csv"),
])
def test_detect_format(name, expected):
    assert detect_format(sample(name)) == expected
    assert expected in FORMATS


@pytest.mark.parametrize("fmt", [None, *FORMATS])
@pytest.mark.parametrize("data", [b"", b"  \r\n\t", b"\n\n"])
def test_an_empty_file_is_refused(fmt, data):
    assert refused(data, fmt=fmt, csv_mapping=SIMPLE_MAPPING, account_currency="RON").message == "The file is empty."


def test_an_unknown_format_name_is_a_programming_error():
    with pytest.raises(ValueError) as caught:
        parse(b"x", fmt="ofx")
    assert not isinstance(caught.value, StatementError)


@pytest.mark.parametrize(("name", "fmt", "mapping"), [
    ("camt053_v02_two_statements.xml", "camt", None), ("camt053_v08.xml", "camt", None), ("camt054_v02.xml", "camt", None),
    ("mt940_two_messages.sta", "mt940", None), ("csv_ro_cp1250.csv", "csv", RO_MAPPING),
    ("csv_utf8_bom_credit_debit.csv", "csv", CREDIT_DEBIT_MAPPING),
])
def test_a_file_cut_anywhere_is_read_or_refused_never_a_crash(name, fmt, mapping):
    data = sample(name)
    for cut in range(0, len(data), max(1, len(data) // 150)):
        try:
            statements = parse(data[:cut], fmt=fmt, csv_mapping=mapping, account_currency="RON")
        except StatementError as error:
            assert "%(" not in error.message % error.params
        else:
            assert all(isinstance(ln.amount_minor, int) for s in statements for ln in s.lines)


def test_statements_are_frozen():
    statement = parse(sample("camt054_v02.xml"))[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        statement.lines[0].amount_minor = 0  # type: ignore[misc]
