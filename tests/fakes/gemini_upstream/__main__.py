"""`python -m tests.fakes.gemini_upstream`: the fake served on its own."""

from tests.fakes.gemini_upstream import main

main()
