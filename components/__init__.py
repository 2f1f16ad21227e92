"""Pulumi ComponentResources, one per module. No business rules: those live in dbaccess/."""
