"""CAMT.053 statements for the tests, written as a bank writes them (one Stmt per account and day)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from xml.sax.saxutils import escape

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
FIRM_IBAN = "RO49AAAA1B31007593840000"


@dataclass(frozen=True)
class Entry:
    amount: str  # "119.00"
    text: str = ""
    payer: str = "Carpatia Retail SRL"
    payer_iban: str = "RO09BCYP0000001234567890"
    reference: str = ""  # AcctSvcrRef; "" for none
    booked: dt.date = dt.date(2026, 12, 1)
    debit: bool = False
    reversal: bool = False
    end_to_end: str = "NOTPROVIDED"


def camt053(entries: list[Entry], *, iban: str = FIRM_IBAN, currency: str = "RON", statement_id: str = "STMT-1") -> bytes:
    rows = "".join(_entry(e, currency) for e in entries)
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS}"><BkToCstmrStmt>'
            f"<GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2026-12-02T06:00:00</CreDtTm></GrpHdr>"
            f"<Stmt><Id>{statement_id}</Id><CreDtTm>2026-12-02T06:00:00</CreDtTm>"
            f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>{rows}</Stmt></BkToCstmrStmt></Document>").encode()


def _entry(e: Entry, currency: str) -> str:
    side = "DBIT" if e.debit else "CRDT"
    ref = f"<AcctSvcrRef>{escape(e.reference)}</AcctSvcrRef>" if e.reference else ""
    party = (f"<RltdPties><Dbtr><Nm>{escape(e.payer)}</Nm></Dbtr><DbtrAcct><Id><IBAN>{e.payer_iban}</IBAN></Id></DbtrAcct></RltdPties>"
             if e.payer_iban else f"<RltdPties><Dbtr><Nm>{escape(e.payer)}</Nm></Dbtr></RltdPties>")
    return (f'<Ntry><Amt Ccy="{currency}">{e.amount}</Amt><CdtDbtInd>{side}</CdtDbtInd>'
            f"{'<RvslInd>true</RvslInd>' if e.reversal else ''}<Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{e.booked.isoformat()}</Dt></BookgDt><ValDt><Dt>{e.booked.isoformat()}</Dt></ValDt>{ref}"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls><TxDtls><Refs><EndToEndId>{escape(e.end_to_end)}</EndToEndId></Refs>"
            f'<AmtDtls><TxAmt><Amt Ccy="{currency}">{e.amount}</Amt></TxAmt></AmtDtls>{party}'
            f"<RmtInf><Ustrd>{escape(e.text)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>")
