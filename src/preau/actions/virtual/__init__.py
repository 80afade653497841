"""Virtual classes: rooms on the Janus nodes, seats and tokens, hands and the floor."""
