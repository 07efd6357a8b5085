"""The common trace line, decoded in one step (msgspec) for the simulator's hot loop.

Public API::

    decode(raw: bytes) -> PlainRecord      # raises ERRORS unless the line is exactly a plain record
    ERRORS                                 # the exceptions ``decode`` raises on any other line
    MAX_BYTES                              # longer lines are not offered to ``decode`` (see below)

Most lines of a recorded or generated trace are one JSON object with ``ts``, ``tool``, ``args`` and
``grant`` of the usual types (strings, and an object) and perhaps an ``id``. ``decode`` reads such a
line straight into a struct, checking the types as it goes: in the simulator's loop that costs about
a quarter less than ``orjson.loads`` into a dict plus the lookups and type checks that follow. Any
other line — another member, a missing one, another type, anything that is not valid JSON — makes
it raise, and the caller reads the line with orjson as before, so every rule and message stays in
one place (``policyctl.traces.reader.decode_record``).

What is accepted here must read exactly as orjson reads it. The differences between the two
parsers, and why none of them shows:

* orjson turns an integer outside the 64-bit range into the float64 nearest to it; msgspec keeps
  the integer. The engine reads every number as the float64 a Go gateway decodes (``to_double``,
  ``go_v``, ``go_int64_amount``), so the two give the same decisions (a property test checks it).
* orjson refuses an integer too large for a float64 (309 digits or more) as invalid JSON; msgspec
  accepts it. Such a line is longer than ``MAX_BYTES``, so it never comes here.
* msgspec skips the value of a member it does not know without checking all of it (invalid UTF-8
  passes); ``forbid_unknown_fields`` makes an unknown member an error before its value is read.
* A repeated member: both keep the last value; msgspec also checks each one's type (an error here,
  so orjson decides).
* msgspec before 0.19 read an integer just above 2^64 modulo 2^64 (msgspec issue 701): hence the
  lowest version policyctl declares, 0.19.0 (a test fails on 0.18).
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["PlainRecord", "decode", "ERRORS", "MAX_BYTES"]

#: lines up to this many bytes are offered to ``decode``: far too short for a number that orjson
#: refuses and msgspec does not (309 digits), or for nesting deep enough to reach either's limit
MAX_BYTES = 300


class PlainRecord(msgspec.Struct, forbid_unknown_fields=True):
    ts: str
    tool: str
    args: dict[str, Any]
    grant: str
    id: Any = None  # read (so checked) but unused: an id needs nothing on the summary path


decode = msgspec.json.Decoder(PlainRecord).decode
#: ValidationError is a DecodeError; ValueError: msgspec 0.18 raised UnicodeDecodeError
#: for invalid UTF-8 in a string
ERRORS = (msgspec.DecodeError, ValueError)
