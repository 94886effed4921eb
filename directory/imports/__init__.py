"""Bulk import of clinic lists (CSV or XLSX) by editors: read, map columns, check every
row with the listing form's rules, find duplicates, report, then write in batches.

`plan.dry_run` decides everything and writes nothing; `apply.apply_plan` writes what
a dry run decided, a batch per transaction.
"""
