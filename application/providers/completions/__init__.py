"""The completion pipeline: one call to a model, whatever dialect it arrived in, from end to end
(`pipeline.CompletionPipeline`). Its steps: `admit` (estimate, budgets and limits), `upstream`
(the call seam), and `request` (what a front door hands it and gets back)."""
