"""Every catalogue row, by model family, in the order clients see them."""

from __future__ import annotations

from providers.catalogue.row import ProviderModel
from providers.catalogue.rows import hailuo, kling, luma, qubico, sora, veo

ROWS: tuple[ProviderModel, ...] = (
    *qubico.ROWS,  # the spec's Hunyuan and WanX first
    *luma.ROWS,
    *kling.ROWS,
    *hailuo.ROWS,
    *veo.ROWS,
    *sora.ROWS,
)
