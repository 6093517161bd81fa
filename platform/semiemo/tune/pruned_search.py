"""OptunaSearch that tells Optuna which trials the scheduler stopped: they are PRUNED, not COMPLETE.

Ray's `OptunaSearch` records a trial that ASHA stopped after one epoch as COMPLETE with that epoch's
value (sometimes 0.0), so TPE learns from a one-epoch value as if it were a finished trial's and
optuna-dashboard lists it beside them. A trial that ran to the end sends a last report carrying
`final` (`tune.trial`); one that stops without it was stopped by the scheduler. Its per-epoch
values are already in the study as intermediate values (`on_trial_result` reports every epoch);
here it is told PRUNED, which TPE and the dashboard treat as such.
"""

from __future__ import annotations

from typing import Any

from ray.tune.search.optuna import OptunaSearch

from semiemo.tune.trial import FINAL_FLAG, REPLAYED


class PruneAwareOptunaSearch(OptunaSearch):
    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        stopped_early = (not error and result is not None and trial_id in self._ot_trials
                         and trial_id not in self._completed_trials
                         and not result.get(FINAL_FLAG) and not result.get(REPLAYED))
        if not stopped_early:
            super().on_trial_complete(trial_id, result=result, error=error)
            return
        import optuna

        self._ot_study.tell(self._ot_trials[trial_id], state=optuna.trial.TrialState.PRUNED)
        self._completed_trials.add(trial_id)
