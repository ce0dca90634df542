"""Allow ``python -m prbot`` as an alias of the ``prbot`` console script."""

from prbot.cli.main import main

if __name__ == "__main__":
    main()
