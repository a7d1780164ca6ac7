"""Who may do what: staff accounts and tokens, the one permissions table, failure limits."""
