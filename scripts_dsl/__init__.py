"""The call-script language: blocks in YAML/JSON, validated, compiled to a state machine.

Typical use::

    report = validate_file("examples/event_confirmation_vi.yaml")   # every problem at once
    compiled = compile_report(report)                                # ScriptInvalid if any
    run = ScriptRun(compiled, {"name": "An", ...}, CustomerStatus.REGISTERED, call_id="c1")
    actions = run.start()                 # Play, CollectDigits, Listen ...
    actions = run.handle(Digit("1"))      # Branch, SetStatus, Hangup ...

The customer status rules live in :mod:`scripts_dsl.status`; events in
:mod:`scripts_dsl.events`; actions in :mod:`scripts_dsl.actions`.
"""

from scripts_dsl.compiler import (
    CompiledScript,
    compile_file,
    compile_report,
    compile_script,
    compile_text,
)
from scripts_dsl.errors import (
    CustomerDataMissing,
    GraphvizMissing,
    ScriptError,
    ScriptInvalid,
    ScriptRunError,
    SimulationInputError,
    StatusChangeRefused,
    VocabularyUnavailable,
)
from scripts_dsl.model import Script
from scripts_dsl.problems import Problem
from scripts_dsl.run import ScriptRun
from scripts_dsl.status import CustomerStatus, allowed_moves, can_move, check_move
from scripts_dsl.validator import (
    ValidationReport,
    validate_data,
    validate_file,
    validate_script,
    validate_text,
    version_id,
)

__all__ = [
    "CompiledScript",
    "CustomerDataMissing",
    "CustomerStatus",
    "GraphvizMissing",
    "Problem",
    "Script",
    "ScriptError",
    "ScriptInvalid",
    "ScriptRun",
    "ScriptRunError",
    "SimulationInputError",
    "StatusChangeRefused",
    "ValidationReport",
    "VocabularyUnavailable",
    "allowed_moves",
    "can_move",
    "check_move",
    "compile_file",
    "compile_report",
    "compile_script",
    "compile_text",
    "validate_data",
    "validate_file",
    "validate_script",
    "validate_text",
    "version_id",
]
