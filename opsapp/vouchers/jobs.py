"""The scheduled job of vouchers.

`vouchers_lapse` (daily): every voucher still granted (not claimed) after its `valid_until`
date lapses: its amount returns to the scheme's budget and the SME is told. A lapsed voucher
is no longer selected, so a rerun changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from opsapp.jobs import job
from opsapp.vouchers import grants


@job("vouchers_lapse", "cron", period_format="%Y-%m-%d", hour=2, minute=23)
def vouchers_lapse(now: datetime) -> str:
    lapsed = grants.lapse_due(now)
    return f"{lapsed} vouchers lapsed"
