"""/csat and /agent-states: the grammar (text -> Query) and the service that answers."""
