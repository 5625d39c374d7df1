"""Embeddings computed in this process (the semantic cache's)."""
