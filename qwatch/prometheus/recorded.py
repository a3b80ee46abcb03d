"""The names of the series the bundled recording rules keep (`grafana/alerts/recording.rules.yml`):
written by the rules' generator, read back by `qwatch top --prometheus`. One place for both."""

from __future__ import annotations

from dataclasses import dataclass

RATE_WINDOW = "5m"
"""The rules' rate window, part of each recorded name."""


@dataclass(frozen=True)
class Recorded:
    """Names of the recorded series; they carry the rate window, as the convention asks."""

    window: str

    @property
    def finished(self) -> str:
        return f"queue:qwatch_jobs_finished:rate{self.window}"

    @property
    def failed(self) -> str:
        return f"queue:qwatch_jobs_failed:rate{self.window}"

    @property
    def completed(self) -> str:
        return f"queue:qwatch_jobs_completed:rate{self.window}"

    @property
    def failure_ratio(self) -> str:
        return f"queue:qwatch_jobs_failure_ratio:rate{self.window}"

    @property
    def untracked(self) -> str:
        """Jobs per second the workers did that no registry showed, per Redis and outcome."""
        return f"redis:qwatch_jobs_untracked:rate{self.window}"

    @property
    def failure_ratio_floor(self) -> str:
        """The failure ratio were every untracked success of the queue's Redis its own."""
        return f"queue:qwatch_jobs_failure_ratio_floor:rate{self.window}"

    @property
    def run_time(self) -> str:
        """Quantiles of the run time, told apart by a `quantile` label (0.5, 0.95, 0.99)."""
        return f"queue_quantile:qwatch_job_duration_seconds:histogram_quantile_rate{self.window}"

    @property
    def wait_time(self) -> str:
        return f"queue_quantile:qwatch_job_wait_seconds:histogram_quantile_rate{self.window}"


RECORDED = Recorded(RATE_WINDOW)
"""The names as the shipped rule files have them."""
