"""Stages 5 and 6 of the pipeline: judging and reporting. The result model (``model``: ``Attempt``,
``Delivery``, ``DeliveryState``, ``Outcome``, ``Summary``, the bounded ``DeliveryLog``) and the NDJSON
transcript (``transcript``). The channels apply the ack rule; these record what they judged."""
