"""Read the records of a wandb offline run file (`run-<id>.wandb`): a LevelDB-style log of
32 KiB blocks, each record a 7-byte header (CRC, little-endian length, type: full,
first, middle, last) then part of one protobuf `Record`."""

from __future__ import annotations

import json
from pathlib import Path

BLOCK = 32768
HEADER = 7
FULL, LAST = 1, 4


def records(path: Path) -> list:
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", "not a wandb run file"
    pos, pending, out = HEADER, b"", []
    while pos + HEADER <= len(data):
        if BLOCK - pos % BLOCK < HEADER:  # a block's tail too short for a header: padding
            pos += BLOCK - pos % BLOCK
            continue
        length = int.from_bytes(data[pos + 4:pos + 6], "little")
        kind = data[pos + 6]
        pending += data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, LAST):
            rec = pb.Record()
            rec.ParseFromString(pending)
            out.append(rec)
            pending = b""
    return out


def history(path: Path) -> dict[int, dict]:
    """The logged rows by step: {step: {key: value}} (nested keys joined with '/')."""
    rows: dict[int, dict] = {}
    for rec in records(path):
        if rec.WhichOneof("record_type") == "history":
            row = {(i.key or "/".join(i.nested_key)): json.loads(i.value_json)
                   for i in rec.history.item}
            rows.setdefault(int(row.pop("_step")), {}).update(row)
    return rows


def artifacts(path: Path) -> list:
    return [r.artifact for r in records(path) if r.WhichOneof("record_type") == "artifact"]
