"""``python -m adapters.cli``: the same as the ``lienthong`` command."""

from adapters.cli import main

main()
