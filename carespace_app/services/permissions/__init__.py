"""Who may see and change what: the rules (access) and the tab's bound person and patient (tab_access)."""
