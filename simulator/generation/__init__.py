"""Stage 1 of the pipeline: generation.

The catalogue of event types (``catalog``), the event families that register into it (``families``), the
tenant population they draw people from, the ``EventFactory`` that turns a type into an event body, field
overrides, JSON Schema validation and scenarios (coherent multi-event stories)."""
