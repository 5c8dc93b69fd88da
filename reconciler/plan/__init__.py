"""Planning: desired vs actual -> an ordered, guarded Plan (pure).

The planner (:mod:`.diff`), the mass-deletion guard (:mod:`.guard`) and the EdgioRoute
writes that make the derived routes agree with their Ingresses (:mod:`.routeset`).
"""
