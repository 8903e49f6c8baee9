"""Meet the Buyer events (PRODUCT.md section 3): one-to-one matchmaking between innovative
SMEs and corporate or public buyers, from invitations to the contracts that follow.

Where things live:

- `models.py`: events, slots, participants and profiles, training, requests, meetings,
  outcomes, contracts; `states.py`: the lifecycles (phases, requests, meetings, contracts).
- pure rules: `grid.py` (the slot grid), `matching.py` (the fit between an offer and a
  need), `scheduling.py` (the meeting scheduler, also a command-line program),
  `conflicts.py` (what is wrong with a grid), `statistics.py` (an event's figures).
- services (change state, audit, notify, never commit): `design.py` (events, phases),
  `participants.py` (invitations, profiles, availability, training), `requests.py`
  (marketplace, favourites, meeting requests, quotas, expiry), `schedule.py` (running the
  scheduler, editing the grid, publishing), `agendas.py` (agenda pages, iCalendar, Word),
  `day.py` (check-in, no-shows), `outcomes.py` (ratings, contracts).
- pages: `*_views.py` with their forms in `*_forms.py`; jobs in `jobs.py`.
"""

from flask import Blueprint

bp = Blueprint("events", __name__, template_folder="templates", url_prefix="/events")

from opsapp.events import (  # noqa: E402,F401
    agenda_views,
    design_views,
    followup_views,
    participant_views,
    request_views,
    schedule_views,
)
