"""kombu's file broker, with each message written whole before any consumer can see it.

kombu's filesystem transport creates a message's file under its final name and only
then writes the body, so a consumer that lists the folder in between takes an empty or
half-written file: it fails to decode it, the message is gone, and the exception ends
the Celery worker's consumer (the worker exits; under honcho the whole stack stops).
With a consumer waiting on an almost empty queue, which is the embedded stack at rest,
that happened 13 times in 5,000 messages on this machine.

Here the body is written under a name no consumer matches and renamed into place:
a rename within one folder is atomic, so a listed message is always complete.

A fanout exchange's table (which queues it copies to: Celery's events, gossip and
broadcasts) has the same gap: the first bind creates the file empty, then locks and
writes it, and a process that opens and locks it in between reads nothing it can
decode. Every worker binds to the events exchange as it starts, at the same moment, so
here the table is made whole ("[]") before any bind can open it.

celeryconfig.py names this class as the transport whenever BROKER_URL is filesystem://.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# Consumers take only files named "<stamp>_<uuid>.<queue>.msg"; this suffix keeps a file
# being written out of every queue's match.
PARTIAL_SUFFIX = ".partial"


class Channel(filesystem.Channel):
    """Writes each message and each exchange's first table whole before it can be read."""

    # kombu's stubs give the filesystem Channel's _put this signature with the same
    # ignore: it takes the payload under another name than the base channel's _put.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # The name kombu's own _put gives: consumers take messages in its sorted order.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str | None, queue: str) -> None:
        # kombu's own path for the table, which also refuses names that would leave the
        # control folder; celery-types' stubs predate it.
        table: Path = self._exchange_file(exchange)  # type: ignore[attr-defined]
        if not table.exists():
            partial = table.with_name(f"{table.name}.{uuid.uuid4()}{PARTIAL_SUFFIX}")
            try:
                self.control_folder.mkdir(exist_ok=True)
                partial.write_text("[]")
                os.link(partial, table)  # made only if absent, and whole when it appears
            except FileExistsError:
                pass  # another process made it first
            except OSError as exc:
                raise ChannelError(f"Cannot open {table}") from exc
            finally:
                partial.unlink(missing_ok=True)
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    """kombu's filesystem transport, with nothing readable before it is whole (see Channel)."""

    Channel = Channel
