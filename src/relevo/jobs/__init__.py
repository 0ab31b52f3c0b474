"""Jobs: background work (training, imports, batch generation) with durable status and progress."""
