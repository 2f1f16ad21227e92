"""The wire: each call to another service bounded in time, its failures in our own words."""
