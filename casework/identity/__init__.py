"""Who is asking (U5, U6, E3, P3): principals, the key ring, the short-lived tokens the door
signs for a principal, and the Temporal interceptors that carry and check them.

- `principal`: a verified principal, and the one place workflow code learns who is acting.
- `keyring`: the engine's secret keys (token signing, payload encryption), with key ids so
  keys rotate without breaking old histories.
- `tokens`: a token the door signs for one principal, one case and one operation, valid for
  minutes; the worker checks it against workflow time, so a replay decides as the first run.
- `interceptors`: the client side puts the token in the Temporal headers of every update,
  signal and query the door sends; the worker side checks it before any handler runs.
"""
