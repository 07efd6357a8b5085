"""``policyctl record``: a transparent MCP proxy that writes a replayable trace.

``session`` is the transport-neutral core (which client message is a ``tools/call``, which server
message answers it, the arrival-order sequencer that writes one trace line per call); ``stdio``
and ``http`` move bytes between a client and a server and consult it; ``trace_writer`` owns the
trace file (0600, whole lines, never an accidental overwrite) and redaction; ``shadow`` holds the
policy, its evaluator and its reloads.
"""
