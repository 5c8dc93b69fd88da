import sys

from edgio_sandbox.demo import main

sys.exit(main())
