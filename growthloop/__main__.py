"""`python -m growthloop` runs the command line."""

from growthloop.cli import main

main()
