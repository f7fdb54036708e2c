"""The audit log: queries and chain verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from memosys.governance.models import AuditVerification
from memosys.server.auth import CallerDep
from memosys.server.schemas import MAX_PAGE, RecordsOut, Time, UserQuery

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=RecordsOut)
def audit_log(
    caller: CallerDep,
    user_id: UserQuery = None,
    cube: str | None = None,
    item_id: str | None = None,
    action: Annotated[str | None, Query(description="e.g. memory.add, cube.share")] = None,
    since: Time | None = None,
    before_seq: Annotated[
        int | None,
        Query(ge=1, description="only records before this seq: the last seq of the previous page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> RecordsOut:
    """Audit records the user may see (admins: all; others: their cubes and their own acts),
    newest first; page back with ``before_seq``."""
    records = caller.run(
        caller.mos.audit_log,
        user_id=caller.user(user_id),
        cube=cube,
        item_id=item_id,
        action=action,
        since=since,
        before_seq=before_seq,
        limit=limit,
    )
    return RecordsOut(records=records)


@router.get("/verify", response_model=AuditVerification)
def verify_audit(caller: CallerDep, user_id: UserQuery = None) -> AuditVerification:
    """Check the hash chain; names the first bad record if it is broken (the number of
    records only for an admin key)."""
    return caller.run(caller.mos.verify_audit, user_id=caller.user_or_all(user_id))
