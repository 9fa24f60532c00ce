"""Stage 2 of the pipeline: the wire format. The v2/v1 envelopes, sealing (AES-256-CBC bodies and the
``X-Lark-*`` signature), the legacy card signature, and the long connection's ``pbbp2`` frames. All pure."""
