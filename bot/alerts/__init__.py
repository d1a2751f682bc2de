"""Drop alerts: detection (pure statistics), the decision, and one thread per problem."""
