"""`python -m tests.fakes.openai_upstream`: the fake served on its own (for benchmarks)."""

from tests.fakes.openai_upstream import main

main()
