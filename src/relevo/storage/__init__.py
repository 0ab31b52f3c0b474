"""Storage mechanics shared by the domains, one concern per module, backend chosen by URL."""
