"""The parts of the :class:`~aifinops.app.App` facade, one module per area, so each stays small.

``App`` inherits every mixin; a mixin's methods use only ``self.settings``, ``self.ledger``, ``self.catalog``
and the other public methods of ``App`` (never a surface's code).
"""
