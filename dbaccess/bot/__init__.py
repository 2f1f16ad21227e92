"""The Slack bot: App Home and /dbaccess list a person's databases; a click records a request."""
