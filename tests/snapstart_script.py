"""The start of a script that does in a fresh process what SnapStart does at publish: Django set
up at import, then the before-snapshot hooks registered with Lambda's `snapshot_restore_py` (faked
here: the python3.13 runtime provides it) are run. `hooks` holds them; the script runs them."""

SNAPSHOT_PRELUDE = """
import sys, types, django
hooks = []
runtime = types.ModuleType("snapshot_restore_py")
runtime.register_before_snapshot, runtime.register_after_restore = hooks.append, lambda hook: None
sys.modules["snapshot_restore_py"] = runtime
django.setup()
from config import snapstart
snapstart.install()
"""
