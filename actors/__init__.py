"""Long-lived Ray actors: shard hosts of course and enrollment entities, and worker hosts."""
