"""The product spec's two request bodies ("Testing the Workflow" and image-to-video)."""

from __future__ import annotations

SPEC_T2V = {
    "campaign_id": "123",
    "generation_mode": "text_to_video",
    "script": "A cat playing with a ball",
    "style": "social",
    "duration": 5,
    "aspect_ratio": "16:9",
}
SPEC_I2V = {
    "campaign_id": "123",
    "generation_mode": "image_to_video",
    "image_url": "https://example.com/product.jpg",
    "script": "Animate this product with subtle movement and professional lighting",
    "style": "marketing",
    "duration": 5,
    "aspect_ratio": "16:9",
    "provider": "piapi_wanx_1.3b",
}
