"""Where the engine keeps its state and which files it reads, from flags or environment.

| variable | default |
|---|---|
| CASEWORK_STATE_DIR | `.state` in the current folder |
| CASEWORK_DB_URL | `sqlite:///<state>/casework.db` (a Postgres URL works too) |
| CASEWORK_DIRECTORY | the demo directory shipped in the package, loaded on first run |
| CASEWORK_POLICY | the S1 table (`casework/data/default-policy.yaml`) |
| CASEWORK_TASK_QUEUE | `casework` |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
DEMO_DIRECTORY = DATA_DIR / "demo-directory.yaml"
DEFAULT_POLICY_FILE = DATA_DIR / "default-policy.yaml"
DEFAULT_TASK_QUEUE = "casework"


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    db_url: str
    directory_file: Path | None
    policy_file: Path | None
    task_queue: str

    @classmethod
    def from_env(
        cls,
        *,
        state_dir: str | Path | None = None,
        db_url: str | None = None,
        directory_file: str | Path | None = None,
        policy_file: str | Path | None = None,
        task_queue: str | None = None,
    ) -> Settings:
        """Flags win over environment variables, which win over defaults."""
        state = Path(state_dir or os.environ.get("CASEWORK_STATE_DIR") or ".state").absolute()
        directory = directory_file or os.environ.get("CASEWORK_DIRECTORY")
        policy = policy_file or os.environ.get("CASEWORK_POLICY")
        return cls(
            state_dir=state,
            db_url=db_url
            or os.environ.get("CASEWORK_DB_URL")
            or f"sqlite:///{state / 'casework.db'}",
            directory_file=Path(directory) if directory else None,
            policy_file=Path(policy) if policy else None,
            task_queue=task_queue or os.environ.get("CASEWORK_TASK_QUEUE") or DEFAULT_TASK_QUEUE,
        )

    def ensure_state_dir(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
