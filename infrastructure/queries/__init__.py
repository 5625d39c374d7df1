"""Queries: reads straight from the tables the contexts write (their aggregates' own tables, the
usage ledger, the audit log), with no projection in between. What a query answers is as fresh
as the last committed transaction.

Reads of the tables the projections' worker maintains from events live in
`infrastructure.read_models`.
"""
