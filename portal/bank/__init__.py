"""Money in from the bank: statements imported, matched to invoices, and the reconciliation queue."""
