"""The notebook dashboard (ipywidgets). Importing it does not import TensorFlow."""

from .app import Dashboard, safe_folder_name
from .controls import KnobControl, ParseError, SettingControl

__all__ = ["Dashboard", "KnobControl", "ParseError", "SettingControl", "safe_folder_name"]
