"""Vouchers (PRODUCT.md section 4): the money that pays SMEs' way to events outside the region,
granted under the de minimis ceiling and accounted for the way a State-aid audit expects.

Where things live:

- `models.py`: cost categories, schemes, vouchers, expense lines, declared aid;
  `states.py`: the voucher lifecycle.
- pure rules: `deminimis.py` (the aid of a single undertaking over the rolling period, the
  ceiling and its headroom), `budget.py` (granted, claimed, approved, paid, lapsed, available),
  `claims.py` (a claim's lines checked against the scheme and the voucher).
- services (change state, audit, notify, never commit): `schemes.py` (schemes, categories,
  the register), `grants.py` (grant, cancel, lapse, aid declared), `claiming.py` (claim,
  review, payment).
- pages: `*_views.py` with their forms in `*_forms.py`; the job in `jobs.py`.
"""

from flask import Blueprint

bp = Blueprint("vouchers", __name__, template_folder="templates")

from opsapp.vouchers import (  # noqa: E402,F401
    aid_views,
    claim_views,
    grant_views,
    scheme_views,
)
