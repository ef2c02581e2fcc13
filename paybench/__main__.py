"""``python -m paybench``: the same as the ``paybench`` console script."""

import sys

from paybench.cli import main

sys.exit(main())
