"""The embedded file broker: a consumer never takes a message that is still being written."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kombu import Connection
from kombu.transport import filesystem

from infra import file_broker

TRANSPORT = "infra.file_broker:Transport"


def _connection(folder: Path) -> Connection:
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }
    return Connection("filesystem://", transport=TRANSPORT, transport_options=options)


def test_a_message_being_written_is_not_taken_until_it_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _connection(tmp_path) as producer, _connection(tmp_path) as consumer:
        taking = consumer.default_channel
        seen_mid_write: list[object] = []
        real_dumps = file_broker.dumps

        def dumps_while_a_consumer_looks(payload: Any) -> str:
            # The file being written exists now; kombu's own transport would hand it
            # over empty here, and the consumer would fail to decode it.
            try:
                seen_mid_write.append(taking._get("work"))
            except Empty:
                seen_mid_write.append(None)
            return real_dumps(payload)

        monkeypatch.setattr(file_broker, "dumps", dumps_while_a_consumer_looks)
        producer.default_channel._put("work", {"body": "whole"})

        assert seen_mid_write == [None]
        assert taking._get("work") == {"body": "whole"}
        assert list(tmp_path.glob("*.msg*")) == []


def _produce(folder: Path, count: int) -> None:
    with _connection(folder) as connection:
        queue = connection.SimpleQueue("work")
        for i in range(count):
            queue.put({"i": i})
            time.sleep(0.0005)  # a consumer waiting on an almost empty queue: the race


def test_every_message_between_processes_arrives_once_and_whole(tmp_path: Path) -> None:
    # With kombu's own transport this lost about 1 message in 300 to a decode error.
    count = 1500
    producer = multiprocessing.get_context("spawn").Process(target=_produce, args=(tmp_path, count))
    producer.start()
    received: list[int] = []
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue("work")
        deadline = time.monotonic() + 60
        while len(received) < count and time.monotonic() < deadline:
            try:
                message = queue.get(block=False)
            except Empty:
                continue
            received.append(message.payload["i"])
            message.ack()
        queue.close()
    producer.join(timeout=10)

    assert sorted(received) == list(range(count))


def test_a_fanout_table_is_never_read_empty_while_the_first_bind_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every worker binds to Celery's events exchange as it starts. kombu's own first bind
    # creates the table empty and locks it after, so a process that reads in between
    # fails to decode it.
    with _connection(tmp_path) as binding, _connection(tmp_path) as reading:
        binder, reader = binding.default_channel, reading.default_channel
        read_while_binding: list[object] = []
        real_lock = filesystem.lock
        reading_now = False

        def lock_after_a_read(f_obj: Any, flags: int) -> None:
            # The bind's first lock: before it is taken, another process reads the table.
            nonlocal reading_now
            if not read_while_binding and not reading_now:
                reading_now = True
                read_while_binding.append(reader.get_table("celeryev"))
            real_lock(f_obj, flags)

        monkeypatch.setattr(filesystem, "lock", lock_after_a_read)
        binder._queue_bind("celeryev", "#", "", "celeryev.one")

        assert read_while_binding == [[]]
        assert [q.queue for q in reader.get_table("celeryev")] == ["celeryev.one"]
        assert [p.name for p in (tmp_path / "control").iterdir()] == ["celeryev.exchange"]
