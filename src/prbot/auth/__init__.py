"""Credentials: which token each forge and model provider uses, and the OS keyring for local use."""

from __future__ import annotations
