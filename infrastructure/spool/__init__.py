"""The accounting spool: a local, append-only journal of served calls (see docs/operations.md)."""
