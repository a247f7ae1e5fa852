"""Names of the attributes AgentHPO stores on Optuna trials and studies.

Trials carry them as ``user_attrs`` so optuna-dashboard shows them. Everything a study needs
to resume or to be reported lives in storage under these keys.
"""

from __future__ import annotations

# Trial user attributes, written by the sampler.
RATIONALE = "rationale"  # one line, at most ~500 characters
PROPOSED_BY = "proposed_by"  # "llm", "backbone", "default_config", "enqueued"
FALLBACK_REASON = "fallback_reason"  # why the backbone proposed instead of the LLM
LLM_MODEL = "llm_model"
LLM_PROMPT_TOKENS = "llm_prompt_tokens"
LLM_COMPLETION_TOKENS = "llm_completion_tokens"
LLM_LATENCY_S = "llm_latency_s"
LLM_CALLS = "llm_calls"
LLM_REPAIRED = "llm_repair"  # problems of the first answer that a repair round fixed
LLM_PREFETCHED = "llm_prefetched"  # the proposal was prepared while the previous trial ran
LLM_BATCH = "llm_batch"  # one of several candidates the LLM proposed in one call
LLM_COST = "llm_cost_usd"  # dollars, for models with a known price
# Parameters of an LLM trial that the objective suggested over another range or other choices
# than the sampler's space, whose proposed values it did not hold: the backbone drew them
LLM_DROPPED = "llm_dropped"
LLM_TRUST = "llm_trust"  # the adaptive share's trust in the LLM when this trial was proposed
# An LLM answer for this trial repeated or nearly repeated an earlier trial (within the policy's
# duplicate_tolerance of every range): {"of": number, "distance": share, "repaired": bool}
LLM_NEAR_COPY = "llm_near_copy"
# An LLM answer for this trial lay where earlier runs diverged, timed out or crashed
# (agenthpo.agent.failures): {"cause", "trials", "repaired"}; repaired: a repair round moved it.
LLM_FAILURE_REGION = "llm_failure_region"
# The backbone's proposal for this trial lay where earlier runs failed and was moved out
# (LLMPolicy.avoid_failures): what moved, e.g. "batch_size 1 -> 2, out of where #4 crashed".
FAILURE_STEP = "failure_step"
# What the LLM's rationale claims against the stored numbers (agenthpo.agent.claims), one line:
# "claims #11 is the best; the best is #10 (acc=0.941)"
RATIONALE_CHECK = "rationale_check"
# TPE screened out a proposal: {"proposed_by", "config", "rationale", "log_ratio",
# "backbone_log_ratio"}; the trial ran the backbone's own configuration instead
SCREENED = "screened_proposal"
# One of the LLM's initial design (LLMPolicy.initial_design): {"index": k, "of": n, "default":
# bool}; k counts from 1, the task's default configuration first when it is one of them
INITIAL_DESIGN = "initial_design"
# The backbone's verdict on the LLM's candidates of a turn (LLMPolicy.candidates), or on its one
# proposal where the policy screens: {"judge", "values": [each candidate's acquisition], "own":
# the backbone proposal's, "ran": "llm" or "backbone", "index": the candidate that ran (from 1)
# or None, "configs": the candidates, "margin" where one applied}
LLM_CANDIDATES = "llm_candidates"
# The trial at which the search space was revised (agenthpo.agent.reviser): {"round": K,
# "accepted": n, "rejected": m, "summary": one line, "prompt_tokens", "completion_tokens"}, or
# {"round": K, "failed": reason}; the revision itself is the study's agenthpo_space_revision_K
SPACE_REVISION = "space_revision"
STRATEGY = "strategy"
BACKBONE_MEMBER = "backbone_member"  # the backbone sampler that served the trial ("gp", ...)

# Trial system attributes (kept out of optuna-dashboard's tables).
SYS_LLM_CALLS = "agenthpo:llm_calls"  # every request and response, for audit and replay
SYS_CLAIM = "agenthpo:claim"  # the config an LLM proposal claims before Optuna stores it

# Trial user attributes, written by the tuner.
METRICS = "metrics"  # every final metric, hidden ones included
CURVE = "curve"  # the reported learning curve, downsampled
METRICS_CUT = "metrics_cut"  # what the limit on metric names per trial dropped
ERROR = "error"  # one line: why a trial failed
STDERR_TAIL = "stderr_tail"
EXIT_CODE = "exit_code"
DURATION_S = "duration_s"
ANALYSIS = "analysis"  # the Executor's short analysis of the run
NOT_COUNTED = "not_counted"  # not in the budget: interrupted, time_limit, surplus, llm, error
WARM_START = "warm_start"  # where a warm-start config came from
RERUN_OF = "rerun_of"  # the number of the interrupted trial this one runs again
LEFT_OUT = "left_out"  # parameters an enqueued baseline runs without (the script's default)

# Study user attributes, written by the tuner.
STUDY_TASK = "agenthpo_task"  # the task's background, for reports
STUDY_METRIC = "agenthpo_metric"
STUDY_HIDDEN = "agenthpo_hidden_metrics"
STUDY_DEFAULT_ENQUEUED = "agenthpo_default_enqueued"
STUDY_WARM_STARTED = "agenthpo_warm_started"
STUDY_SELECTION = "agenthpo_selection"  # the noise-robust recommendation (Tuner.select)
STUDY_SELECTION_NOTE = "agenthpo_selection_note"  # why no selection could be made
# {trial number: {"values", "seeds" (or "folds", held-out: noise.fold_param), "mean", "std", "n"}}
STUDY_NOISE = "agenthpo_noise"
# Study user attributes, written by the sampler.
# {"warmup": n, "startup": n, "embedded": bool}: who proposes which trials, fixed by the first
# trial proposed, so that a resumed study, every worker and a replay keep one schedule.
STUDY_SCHEDULE = "agenthpo_schedule"
# {"preset", "overridden", "model", "policy"}: the LLM policy in force (agenthpo.policy),
# stored by the study's first proposal.
STUDY_POLICY = "agenthpo_policy"
# {"trial": n, "asked": k, "got": j, "default": number or None, "failed": reason}: the LLM's
# initial design, claimed by the trial that asks for it (once per study)
STUDY_INITIAL_DESIGN = "agenthpo_initial_design"
# The K-th revision of the search space (agenthpo.agent.revision), one attribute per revision
# (K from 1) so that workers never rewrite each other's: {"round": K, "at_trial": n,
# "completed": trials completed then, "state": "asking" | "done" | "failed", "failed": reason,
# "model", "prompt_tokens", "completion_tokens", "changes": [{"at_trial", "param", "old":
# {"low", "high"}, "new": {"low", "high"}, "rationale", "evidence": [trial numbers],
# "status": "accepted" | "rejected", "reason": why rejected or what was adjusted, "kind":
# "narrow" | "widen" | "shift"}]}. The space in force is the task's with every accepted
# change applied in order.
STUDY_SPACE_REVISION = "agenthpo_space_revision_"
