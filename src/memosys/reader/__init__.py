"""Raw-mode reader: messages and documents into memory items, without an LLM."""
