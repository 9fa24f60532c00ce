"""Stages 5 and 6 of the pipeline: judging and reporting. The result model (``Attempt``, ``Delivery``,
``Outcome``, ``Summary``), the ack rule, callback answers, and the NDJSON transcript."""
