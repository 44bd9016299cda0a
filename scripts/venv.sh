# Sourced by scripts/engine and scripts/test: a virtual environment in .venv (or $VENV) made
# with the first Python 3.11+ found.
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3 python; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      "$candidate" -m venv "$VENV"
      break
    fi
  done
  if [ ! -x "$VENV/bin/python" ]; then
    echo "casework needs Python 3.11 or newer: install it, or set PYTHON=/path/to/python3.11" >&2
    exit 2
  fi
fi
