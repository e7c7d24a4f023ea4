"""Queue depths read at scrape time: the file-system broker, and a broker that is down."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from infra.queue_depths import QueueDepthCollector

QUEUES = ("submit", "poll", "callbacks", "store")


def _registry(collector: QueueDepthCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def test_file_system_broker_counts_each_queue_s_message_files(tmp_path: Path) -> None:
    for i, queue in enumerate(["poll", "poll", "submit", "poll", "other"]):
        (tmp_path / f"1700000000{i}_0a1b-{i}.{queue}.msg").write_text("{}")
    (tmp_path / "stray.tmp").write_text("")
    registry = _registry(
        QueueDepthCollector("filesystem://", QUEUES, transport_options={"data_folder_in": tmp_path})
    )

    depth = {q: registry.get_sample_value("videogen_queue_messages", {"queue": q}) for q in QUEUES}

    assert depth == {"submit": 1, "poll": 3, "callbacks": 0, "store": 0}
    assert registry.get_sample_value("videogen_broker_up") == 1


def test_a_missing_broker_folder_is_reported_down(tmp_path: Path) -> None:
    registry = _registry(
        QueueDepthCollector(
            "filesystem://", QUEUES, transport_options={"data_folder_in": tmp_path / "gone"}
        )
    )

    assert registry.get_sample_value("videogen_broker_up") == 0
