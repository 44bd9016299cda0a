"""Workflows: one module per workflow."""
