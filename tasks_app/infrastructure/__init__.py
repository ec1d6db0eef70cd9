"""Managing AWS resources and the local stack: provisioning, table dumps, the embedded local AWS."""
