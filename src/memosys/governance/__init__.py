"""Governance: users' API keys, cube sharing and the tamper-evident audit log."""

from memosys.governance.models import (
    Access,
    ApiKeyInfo,
    AuditAnchor,
    AuditRecord,
    AuditVerification,
    IssuedKey,
    Principal,
    Share,
)

__all__ = [
    "Access",
    "ApiKeyInfo",
    "AuditAnchor",
    "AuditRecord",
    "AuditVerification",
    "IssuedKey",
    "Principal",
    "Share",
]
