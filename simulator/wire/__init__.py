"""Stage 2 of the pipeline: the wire format. The v2.0 envelope and the URL-verification challenge
(``envelope``), sealing (``seal``: AES-256-CBC bodies and the ``X-Lark-*`` signature), and the long
connection's ``pbbp2`` frames (``frames``). All pure."""
