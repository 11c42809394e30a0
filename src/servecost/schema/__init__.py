"""The one input boundary: user input -> checked requests and core types. The only package that uses
pydantic (with sim/schema.py for scenarios); every error becomes one line naming the field and a fix.

bounds.py    shared bounds (tokens, speed, users, ...), `validate`, `one_line`
requests.py  one request model per command, for the CLI and the HTTP API alike
files.py     files a command reads or writes: output paths, simulation limits, your own chips
"""

from .bounds import (FIXES, Degree, HitFrac, MeasureInput, PrefixTokens, Pue, ServeInput, SimulateInput, Speed,
                     SweepInput, Tokens, UsdPerKwh, Users, one_line, validate)
from .files import HardwareRow, hardware_rows, load_hardware_file, output_file, output_folder, sim_limits
from .requests import (BatchRequest, FrontierRequest, ModelRequest, OutlookRequest, PlanRequest, PowerRequest,
                       PredictRequest)

__all__ = ["FIXES", "Degree", "HitFrac", "MeasureInput", "PrefixTokens", "Pue", "ServeInput", "SimulateInput",
           "Speed", "SweepInput", "Tokens", "UsdPerKwh", "Users", "one_line", "validate", "HardwareRow",
           "hardware_rows", "load_hardware_file", "output_file", "output_folder", "sim_limits", "BatchRequest",
           "FrontierRequest", "ModelRequest", "OutlookRequest", "PlanRequest", "PowerRequest", "PredictRequest"]
