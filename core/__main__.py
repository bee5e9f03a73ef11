"""`python -m sen2cor_qgis.core` runs the L2A_Process command line."""
import sys

from .cli import main

sys.exit(main())
