"""What encryption costs a payload (issue 10): time to encode and decode, and bytes added.

    python benchmarks/codec.py            # payloads of 200 B, 2 KB, 20 KB, 200 KB

Prints, per size: microseconds per encode and per decode through the engine's codec (AES-256-GCM,
realm from the serialization context), and the encoded size against the plain payload's.
"""

from __future__ import annotations

import asyncio
import time

from temporalio.api.common.v1 import Payload
from temporalio.converter import WorkflowSerializationContext

from casework.codec.payload import EncryptionCodec
from casework.codec.realm import Realm
from casework.identity.keyring import fresh_ring

ROUNDS = 2_000


async def main() -> None:
    ring = fresh_ring()

    def lookup(workflow_id: str) -> Realm:
        return Realm(restricted=True, account_id="cyberdyne")

    codec = EncryptionCodec(ring, lookup).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id="case-000001")
    )
    print(f"{'plain':>9} {'encoded':>9} {'added':>6} {'encode µs':>10} {'decode µs':>10}")
    for size in (200, 2_000, 20_000, 200_000):
        plain = Payload(metadata={"encoding": b"json/plain"}, data=b"x" * size)
        rounds = ROUNDS if size <= 20_000 else ROUNDS // 10
        start = time.perf_counter()
        for _ in range(rounds):
            encoded = await codec.encode([plain])
        encode_us = (time.perf_counter() - start) / rounds * 1e6
        start = time.perf_counter()
        for _ in range(rounds):
            await codec.decode(encoded)
        decode_us = (time.perf_counter() - start) / rounds * 1e6
        grown = encoded[0].ByteSize()
        print(
            f"{plain.ByteSize():>9} {grown:>9} {grown - plain.ByteSize():>6} "
            f"{encode_us:>10.1f} {decode_us:>10.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
