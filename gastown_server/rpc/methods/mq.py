"""``mq/*`` and ``doctor/run``: the Refinery's merge queue and ``gt doctor`` (docs/protocol.md)."""

from __future__ import annotations

from ...town import doctor
from ...work import merge_requests as mrs
from .. import types as t
from ..registry import method


@method("mq/list", t.MqListParams, t.MqListResult)
def list_(call, p: t.MqListParams) -> t.MqListResult:
    """Merge requests in merge order (pending ones; ``all`` adds merged and abandoned), of one ``rig`` or every rig.

    A failed one (``status`` ``blocked``) carries ``gate_output``: the tail
    the Refinery mailed in its MERGE_FAILED report ("" if none).
    """
    rows = mrs.queue(call.ledger, p.rig or None, include_closed=p.all)
    return t.MqListResult([
        t.MqItem(mr, mrs.failure_output(call.ledger, mr.id) if mr.status == mrs.GATE_FAILED else "") for mr in rows
    ])  # fmt: skip


@method("mq/retry", t.MqIdParams, mrs.MergeRequest, mode="write")
def retry(call, p: t.MqIdParams) -> mrs.MergeRequest:
    """Put a merge request whose gate failed back in the queue as it is (``gt mq retry``); refused otherwise."""
    return mrs.retry(call.ledger, p.id, actor=call.actor)


@method("mq/reject", t.MqRejectParams, t.MqRejectResult, mode="write")
def reject(call, p: t.MqRejectParams) -> t.MqRejectResult:
    """Abandon a pending merge request with a ``reason`` and (``notify``) mail its polecat why (``gt mq reject``)."""
    mr, mid = mrs.reject(call.ledger, p.id, actor=call.actor, reason=p.reason, notify=p.notify)
    return t.MqRejectResult(mr, mid)


@method("doctor/run", t.DoctorRunParams, doctor.DoctorReport, mode="async")
async def doctor_run(call, p: t.DoctorRunParams) -> doctor.DoctorReport:
    """``gt doctor``: every check (or the ``only`` ones) with severity, message and how to fix; ``fix`` repairs what is safe to."""
    return await call.app.in_town_thread(lambda town: doctor.run(town, fix=p.fix, only=p.only or None))
