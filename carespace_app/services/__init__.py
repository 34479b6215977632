"""Plain-Python domain services: no Reflex here. Each takes a DB session and a clock."""
