"""Planning: desired vs actual -> an ordered, guarded Plan (pure).

The planner (:mod:`.diff`), the mass-deletion guard (:mod:`.guard`), each route's outcome
once the plan is known (:mod:`.settle`) and the EdgioRoute writes that make the derived
routes agree with their Ingresses (:mod:`.routeset`).
"""
