"""The KPI engine and showback/chargeback statements: pure functions over aggregated inputs (no I/O).

- :mod:`aifinops.kpis.inputs`: what KPIs are computed from, and the pure helpers that prepare it.
- :mod:`aifinops.kpis.registry`: every KPI with its unit and formula (``docs/kpis.md`` lists them).
- :mod:`aifinops.kpis.statement`: budget pro-rating and the statement's flat lines (CSV).
- :mod:`aifinops.kpis.render`: the printable HTML statement.
"""

from aifinops.kpis.inputs import KpiInputs
from aifinops.kpis.registry import KPIS, Kpi, compute_kpis, definitions

__all__ = ["KPIS", "Kpi", "KpiInputs", "compute_kpis", "definitions"]
