"""The wire: every call to another system (HTTP, Slack, PrivateBin, GitHub, Secrets Manager)
bounded in time, with errors a person can act on. What the Lambdas ship besides their own
package."""
