"""The demo company: realistic, deterministic AI usage for ``aifinops demo``, tests and benchmarks.

``generate(seed, days=90, end=None, scale=1.0)`` returns a :class:`DemoData` whose ``batches`` yield
unpriced :class:`~aifinops.core.records.UsageRecord` lists (about 50,000 each, oldest first) and whose
``outcomes`` hold the business outcomes. See :mod:`aifinops.demo.company` for the company, its
features and the injected :data:`INCIDENTS`.
"""

from __future__ import annotations

from aifinops.demo.company import INCIDENTS, ZOMBIE_INITIATIVE, Incident
from aifinops.demo.generator import BATCH_SIZE, DemoData, generate

__all__ = ["BATCH_SIZE", "INCIDENTS", "ZOMBIE_INITIATIVE", "DemoData", "Incident", "generate"]
