"""Email: the outbox (queued with the action that causes it), the sender, the office's Outbox page, notifications."""
