"""Validated ingestion: table contracts, readers, Great Expectations suites, quarantine and loads.

Plain Python, no Dagster: `orchestration/defs/ingestion` wires it into assets and checks.
"""
