"""`python -m tests.fakes.anthropic_upstream`: the fake served on its own."""

from tests.fakes.anthropic_upstream import main

main()
