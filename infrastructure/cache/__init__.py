"""The response cache's stores: in memory (the embedded shape), Redis (shared by every replica)."""
