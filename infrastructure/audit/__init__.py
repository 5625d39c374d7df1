"""The audit log outside the database: checkpoint files and the checkpoint writer."""
