"""Meet the Buyer events: one-to-one matchmaking between innovative SMEs and buyers.

For now the package holds the pure meeting scheduler (`opsapp.events.scheduling`, also a
command-line program); the event models, services and pages come later.
"""
