"""The product spec's two request bodies ("Testing the Workflow" and image-to-video), and the
provider ids the spec and issue 11 name (clients, the CLI and tests use them)."""

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

# The spec's four rows, then issue 11's: exactly these ids, no more.
PROVIDER_IDS = frozenset(
    {
        "piapi_hunyuan_fast",
        "piapi_wanx_1.3b",
        "piapi_wanx_14b",
        "piapi_luma",
        "piapi_kling_3",
        "piapi_kling_turbo",
        "piapi_hailuo",
        "piapi_veo3_fast",
        "piapi_veo3",
        "piapi_veo31_fast",
        "piapi_veo31",
        "piapi_sora2",
        "piapi_sora2_pro",
        "piapi_skyreels",
        "piapi_wanx_14b_lora",
    }
)
