"""`python -m dbaccess.bot`: run the Slack bot until SIGTERM."""

import sys

from dbaccess.bot.app import main

sys.exit(main())
