"""The lifecycle of a voucher, in one place (through `core.lifecycle.transition`: refused when
not allowed here, audited).

granted -> claimed (the SME submits its claim) -> approved (staff review every line) -> paid;
granted -> lapsed (not claimed by its expiry: the job) or cancelled (staff); a claimed voucher
can still be cancelled by staff. Lapsed and cancelled vouchers return their amount to the
budget; an approved voucher keeps only its approved amount committed.
"""

from __future__ import annotations

from opsapp.core import lifecycle
from opsapp.vouchers.models import VoucherStatus

V = VoucherStatus
VOUCHER_TRANSITIONS: dict[VoucherStatus, set[VoucherStatus]] = {
    V.GRANTED: {V.CLAIMED, V.LAPSED, V.CANCELLED},
    V.CLAIMED: {V.APPROVED, V.CANCELLED},
    V.APPROVED: {V.PAID},
    V.PAID: set(),
    V.LAPSED: set(),
    V.CANCELLED: set(),
}

lifecycle.register(VoucherStatus, VOUCHER_TRANSITIONS)

TransitionRefused = lifecycle.TransitionRefused
allowed = lifecycle.allowed
transition = lifecycle.transition
