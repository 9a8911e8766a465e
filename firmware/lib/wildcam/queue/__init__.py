"""The durable outbox and the sync engine that drains it."""
