"""Data: built-in sets, CSV files and in-memory tables, prepared once per search.

Nothing here downloads anything: synthetic sets are generated and the others ship inside
scikit-learn. Nothing here imports TensorFlow.
"""

from .csv import file_issues, read_csv_header
from .dataset import Dataset
from .prepare import prepare

__all__ = ["Dataset", "file_issues", "prepare", "read_csv_header"]
