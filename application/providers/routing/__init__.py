"""Which deployment answers a call, and what is tried next when one fails
(`domains.providers.routing` holds the rules; `router` the state this process keeps)."""
