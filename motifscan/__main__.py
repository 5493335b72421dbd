"""``python -m motifscan``: the same as the ``motifscan`` command."""

from motifscan.cli import main

if __name__ == "__main__":
    main()
