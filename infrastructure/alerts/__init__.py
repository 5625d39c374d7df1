"""Alerts: the events operators are told of, signed and POSTed to their webhooks, each once,
retried with backoff, every try in the delivery log (docs/alerts.md)."""
