"""Reporting: what a pass planned and wrote -> what users see on each route (pure).

Each route's status and conditions (:mod:`.status`).
"""
