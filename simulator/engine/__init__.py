"""Stage 4 of the pipeline: the engine. ``core.Simulator`` composes generate -> wrap -> seal -> deliver ->
judge -> record; ``schedule`` runs attempts on the retry ladder; ``faults`` perturbs deliveries."""
