"""Allow ``python -m leasedns``."""

from leasedns.cli.main import main

raise SystemExit(main())
