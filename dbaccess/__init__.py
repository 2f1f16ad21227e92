"""db-access: keyless, per-person access to AWS databases."""
