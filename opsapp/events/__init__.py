"""Meet the Buyer events (PRODUCT.md section 3): one-to-one matchmaking between innovative
SMEs and corporate or public buyers, from invitations to the contracts that follow.

Where things live:

- `models.py`: events, slots, participants and profiles, training, requests, meetings,
  outcomes, contracts; `states.py`: the lifecycles (phases, requests, meetings, contracts)
  and what each phase opens (booking, answering, changing the grid, published agendas...).
- pure rules: `grid.py` (the slot grid), `matching.py` (the fit between an offer and a
  need), `scheduling.py` (the meeting scheduler, also a command-line program),
  `conflicts.py` (what is wrong with a grid), `statistics.py` (an event's figures).
- who may act and who hears: `permissions.py` (staff, the participants of a user, who
  speaks for a participant, its people), `notices.py` (notifying a participant's people,
  staff).
- services (change state, audit, notify, never commit): `design.py` (events, the slot grid,
  phases), `participants.py` (invitations, profiles, availability, training),
  `marketplace.py` (profiles to browse, filters, suggestions, favourites), `requests.py`
  (meeting requests: send, answer, withdraw, quotas, expiry), `schedule_runs.py` (running
  the scheduler, in the background), `schedule_grid.py` (the staff's grid: move, swap,
  cancel, lock, place, offer a freed slot), `agendas.py` (agenda pages, iCalendar, Word),
  `day.py` (check-in, no-shows), `outcomes.py` (ratings, contracts, statistics).
- what pages read: `cockpit.py` (the staff's cockpit, the participant's event page, the
  list of events, home panels), `schedule.py` (the grid as it stands, shared by runs and
  changes).
- pages: `*_views.py` with their forms in `*_forms.py` (`forms_common.py`), `pages.py`
  (loading, rendering, refusals, downloads; the shared helpers of `core.pages`), `search.py`
  (the "contains" of list filters); jobs in `jobs.py`. The pages hang on the blueprint of
  `blueprint.py`, which this package does not import, so that `python -m
  opsapp.events.scheduling` stays a light program (neither Flask pages nor the database).
"""
