"""Network access shared by the contexts: the one guard for every URL the gateway fetches."""
