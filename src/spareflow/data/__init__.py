"""Dataset contract, loaders with row-level validation, period aggregation, atomic writes."""

from spareflow.data.load import Dataset, load_dataset, load_demand_matrix, load_demand_table
from spareflow.data.periods import DemandMatrix, demand_matrix
from spareflow.data.write import write_dataset, write_table

__all__ = [
    "Dataset",
    "DemandMatrix",
    "demand_matrix",
    "load_dataset",
    "load_demand_matrix",
    "load_demand_table",
    "write_dataset",
    "write_table",
]
