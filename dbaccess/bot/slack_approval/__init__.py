"""Approve in Slack, recorded as the owner's own GitHub review.

An owner links their GitHub account once (the GitHub App's device flow); when the bot opens an
access request, each linked owner gets the request with Approve / Decline buttons, and a click
submits a review on the pull request *as that owner* (a user-to-server token), so branch
protection and `dbaccess approvals` count it as if it were made on github.com.
"""
