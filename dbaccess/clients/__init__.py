"""Clients of outside services, each bounded in time and size."""
