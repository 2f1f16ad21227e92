"""Every IAM document db-access writes, as pure functions (no Pulumi): the building blocks,
the people's roles, the services' roles and the deploy and preview roles."""
