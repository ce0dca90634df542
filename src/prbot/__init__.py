"""prbot: CI-native pull-request automation with YAML rules, LLM review and an audit trail."""

__version__ = "0.1.0"
