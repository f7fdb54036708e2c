"""Parametric memory: memories distilled into LoRA adapters, with provenance."""
