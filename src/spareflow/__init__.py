"""spareflow: open spare-parts planning and logistics coordination.

Subpackages: ``data`` (dataset contract, loaders, demo data), ``demand`` (classification,
forecasting, backtesting). ``spareflow.plan`` orchestrates them over a dataset.
"""

from spareflow.errors import Fault, InputError, NotFound, ParameterError, SpareflowError

__version__ = "0.1.0"

__all__ = ["Fault", "InputError", "NotFound", "ParameterError", "SpareflowError", "__version__"]
