"""Money in from the bank: statement files, matching to invoices, the reconciliation queue."""
