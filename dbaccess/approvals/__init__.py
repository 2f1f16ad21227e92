"""Owner approval of an access change: the rule (pure) and the facts it reads from GitHub."""
