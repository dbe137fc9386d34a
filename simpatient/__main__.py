"""``python -m simpatient`` runs the command line."""

import sys

from simpatient.cli import main

sys.exit(main())
