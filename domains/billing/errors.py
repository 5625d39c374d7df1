"""Refusals of the billing context."""

from __future__ import annotations

from domains.shared.errors import Forbidden


class ModelUnpriced(Forbidden):
    """A US-dollar budget applies, but the model has no price to charge it with."""

    code = "model_unpriced"
