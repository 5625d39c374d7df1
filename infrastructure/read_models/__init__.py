"""Read models: reads of the tables the projections' worker maintains from events
(`infrastructure.projections`; e.g. `usage_rollup`, the dashboard's usage). What they answer
lags the events by as long as the worker takes to apply them.

Reads straight from the tables the contexts write live in `infrastructure.queries`.

`prompts_query` and `conversations_query` here only re-export their queries' new modules
(`infrastructure.queries.prompts`, `infrastructure.queries.conversations`) for importers that
have not moved yet.
"""
