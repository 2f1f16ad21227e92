"""The wire: each call to another service bounded and its failures translated."""
