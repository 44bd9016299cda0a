"""The parts of scripts/record_histories.py: `recorder` (the recorder and what every scenario
shares) and `scenarios` (one function a scenario, in recording order)."""
