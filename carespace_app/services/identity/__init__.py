"""Who a person is: passwords and addresses, accounts, sign-in sessions, one-time links, tokens and hashes."""
