"""Pulumi.<stack>.yaml: the file as the Pulumi CLI reads it, and the typed settings the program,
the CLI and the workflows read from it."""
