"""Reading a list of clinics from a CSV or XLSX file, and writing the blank template.

Everything is read as text, as a person typed it: the row checks decide what a
value means. A file that is neither, or cannot be read, raises `UnreadableFile`
with a sentence for the editor.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook, load_workbook

MAX_ROWS = 20_000
MAX_BYTES = 20 * 2**20


class UnreadableFile(ValueError):
    """The file could not be read as a list of clinics."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Table:
    """A header row and the rows under it, every cell as text (blank rows left out).
    `numbers[i]` is row i's line in the file (the header is line 1)."""

    headers: list[str]
    rows: list[list[str]]
    numbers: list[int]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a ZIP or a price typed in a spreadsheet cell
    return str(value).strip()


def _table(lines: list[list[str]]) -> Table:
    if not lines or not any(lines[0]):
        raise UnreadableFile("The file is empty: the first row should name the columns.")
    headers = [h.strip() for h in lines[0]]
    rows, numbers = [], []
    for number, line in enumerate(lines[1:], start=2):
        cells = [_cell(v) for v in line] + [""] * (len(headers) - len(line))
        if any(cells):
            rows.append(cells[: len(headers)])
            numbers.append(number)
    if len(rows) > MAX_ROWS:
        raise UnreadableFile(f"The file has {len(rows):,} rows; import at most {MAX_ROWS:,}.")
    return Table(headers, rows, numbers)


def read_table(data: bytes, filename: str) -> Table:
    """The file's first sheet (XLSX) or its comma-separated lines (CSV, UTF-8)."""
    if len(data) > MAX_BYTES:
        raise UnreadableFile(f"The file is larger than {MAX_BYTES // 2**20} MB.")
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
            lines = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            book.close()
        # A damaged or foreign file fails anywhere inside openpyxl, zipfile or the XML
        # parser (defusedxml, which openpyxl uses when installed, refuses entity tricks).
        except Exception as exc:
            raise UnreadableFile("This is not an Excel workbook (.xlsx) we can read.") from exc
        return _table(lines)
    if suffix == ".csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableFile("Save the CSV file as UTF-8 and try again.") from exc
        try:
            return _table(list(csv.reader(io.StringIO(text))))
        except csv.Error as exc:
            raise UnreadableFile(f"The CSV file is malformed: {exc}.") from exc
    raise UnreadableFile("Choose a .csv or .xlsx file.")


def template_csv(headers: list[str], example: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerow(example)
    return out.getvalue().encode("utf-8")


def template_xlsx(headers: list[str], example: list[str]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Clinics"
    sheet.append(headers)
    sheet.append(example)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
