"""accord.conformance: the shared suite that proves an adapter keeps the contract."""

from .cases import AREAS, CASES, CASES_BY_ID, Case, denied, select
from .cassette import BodyCodec, Cassette, CassetteError, Interaction, load_cassette, register_codec
from .checks import Outcome
from .oracles import Oracle, OracleInput
from .runner import CaseResult, Report, run_case, run_suite
from .scenario import Answer, Failure, Timeout, ToolCallSpec
from .scrub import Scrubber
from .targets import Target

__all__ = [
    "AREAS",
    "CASES",
    "CASES_BY_ID",
    "Answer",
    "BodyCodec",
    "Case",
    "CaseResult",
    "Cassette",
    "CassetteError",
    "Failure",
    "Interaction",
    "Oracle",
    "OracleInput",
    "Outcome",
    "Report",
    "Scrubber",
    "Target",
    "Timeout",
    "ToolCallSpec",
    "denied",
    "load_cassette",
    "register_codec",
    "run_case",
    "run_suite",
    "select",
]
