"""Routing a model to the deployment that answers it: the deployments of a model, how one is
chosen (`selection`), when one is out of rotation (`breaker`, `window`), and how a failed call
is tried again (`failover`)."""
