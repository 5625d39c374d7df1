"""What the routing shares across replicas (Redis)."""
