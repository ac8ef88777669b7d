#!/usr/bin/env python
"""Same as the ``accord`` console script."""

from accord.cli import main

if __name__ == "__main__":
    main()
