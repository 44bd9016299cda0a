"""What the door's JSON body check costs (issue 24): the depth bound is measured on the raw
bytes before anything parses them (`casework.door.bodies.json_object`).

    python benchmarks/door_bodies.py

Prints, per body: its size, the answer (taken, or the 422's first words) and milliseconds per
check, the parse included, against `json.loads` alone. The worst bodies are 1 MB (the door's
bound for a JSON request, `casework.door.bounds.MAX_BODY_BYTES`).
"""

from __future__ import annotations

import json
import time

from casework.door.bodies import json_object
from casework.door.bounds import MAX_BODY_BYTES
from casework.door.errors import DoorError

ROUNDS = 20

BODIES = {
    "a comment (60 B)": json.dumps({"text": "Both units run 7.4.3 and fail over at 2am"}).encode(),
    "a 20,000-character text": json.dumps({"text": "x" * 20_000}).encode(),
    "1 MB of '[' (deep at once)": b"[" * MAX_BODY_BYTES,
    "1 MB of '[]' pairs (wide, 1 deep)": b"[" + b"[]," * (MAX_BODY_BYTES // 3 - 1) + b"[]]",
    "1 MB string full of brackets": json.dumps({"text": "[{" * (MAX_BODY_BYTES // 2 - 8)}).encode(),
}


def timed(check: object, body: bytes) -> tuple[str, float]:
    answer = ""
    start = time.perf_counter()
    for _ in range(ROUNDS):
        try:
            check(body)  # type: ignore[operator]
            answer = "taken"
        except DoorError as e:
            answer = f"{e.status} {e.message[:40]}"
        except (ValueError, RecursionError) as e:
            answer = type(e).__name__
    return answer, (time.perf_counter() - start) / ROUNDS * 1e3


def main() -> None:
    print(f"{'body':<36} {'bytes':>9}  {'door check':>10}  {'json.loads':>10}  answer")
    for name, body in BODIES.items():
        answer, door_ms = timed(json_object, body)
        _, loads_ms = timed(json.loads, body)
        print(f"{name:<36} {len(body):>9,}  {door_ms:>8.2f}ms  {loads_ms:>8.2f}ms  {answer}")


if __name__ == "__main__":
    main()
