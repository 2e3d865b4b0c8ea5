"""The notebook dashboard (ipywidgets). Importing it does not import TensorFlow."""

from ..engine.folder.project import safe_folder_name
from .app import Dashboard
from .controls import KnobControl, SettingControl
from .inputs import ParseError

__all__ = ["Dashboard", "KnobControl", "ParseError", "SettingControl", "safe_folder_name"]
