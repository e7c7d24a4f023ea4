"""python -m client: the same as the `videogen` console script."""

import sys

from client.main import main

sys.exit(main())
