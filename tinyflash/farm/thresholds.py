"""When a change is a regression: the matrix's ``thresholds:`` section, stored in every night's JSON and
read back from it by the regression analysis. One class for both (#15.6)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt

from tinyflash.config_file import StrictModel


class Thresholds(StrictModel):
    latency_noise_percent: Annotated[float, Field(ge=0)] = 5.0         # real boards
    board_noise_percent: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    size_growth_bytes: Annotated[StrictInt, Field(ge=0)] = 0           # growth beyond this is flagged
    baseline_nights: Annotated[StrictInt, Field(ge=1)] = 5             # rolling baseline: median of N nights

    def noise_percent(self, board: str) -> float:
        return self.board_noise_percent.get(board, self.latency_noise_percent)
