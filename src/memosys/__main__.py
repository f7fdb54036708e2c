"""``python -m memosys``: the same as the ``memosys`` console script."""

from memosys.cli.app import main

main()
