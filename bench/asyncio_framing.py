"""The framing workloads written the asyncio way, for comparison.

- "asyncio-protocol": an asyncio.Protocol whose data_received() cuts the
  messages itself (bytes.find over the data, a possible terminator prefix kept
  for the next call, the large message streamed, the length-prefixed records
  read by a small state machine);
- "asyncio-streams": a StreamReader fed chunk by chunk by one task while
  another reads with readuntil() / readexactly() (the large message comes back
  whole: streams have no way to hand it over in pieces by terminator).

Each returns what the async_chat workloads count: messages, or bytes for the
streamed message.
"""

import asyncio


class CuttingProtocol(asyncio.Protocol):
    def __init__(self, workload):
        self.term = workload.terminator
        self.stream = workload.stream
        self.rest = b""
        self.messages = 0
        self.streamed = 0

    def data_received(self, data):
        if self.rest:
            data = self.rest + data
        term = self.term
        start = 0
        while True:
            end = data.find(term, start)
            if end < 0:
                break
            if self.stream:
                self.streamed += end - start
            self.messages += 1
            start = end + len(term)
        keep = len(term) - 1  # a terminator may be split across calls
        if self.stream and len(data) - start > keep:
            self.streamed += len(data) - start - keep
            start = len(data) - keep
        self.rest = data[start:]


class LengthPrefixedProtocol(asyncio.Protocol):
    def __init__(self, workload):
        self.rest = b""
        self.needed = None  # bytes still wanted by the current record, or None for a length line
        self.messages = 0

    def data_received(self, data):
        if self.rest:
            data = self.rest + data
        start = 0
        while True:
            if self.needed is None:
                end = data.find(b"\r\n", start)
                if end < 0:
                    break
                self.needed = int(data[start:end])
                start = end + 2
            else:
                if len(data) - start < self.needed:
                    break
                self.record = data[start : start + self.needed]
                start += self.needed
                self.needed = None
            self.messages += 1
        self.rest = data[start:]


def protocol(workload):
    cls = LengthPrefixedProtocol if workload.switch is not None else CuttingProtocol
    proto = cls(workload)
    for chunk in workload.chunks:
        proto.data_received(chunk)
    return proto.messages if workload.unit == "msg" else proto.streamed


async def _read_messages(reader, workload):
    count = 0
    try:
        while True:
            if workload.switch is not None:
                size = int((await reader.readuntil(b"\r\n"))[:-2])
                await reader.readexactly(size)
                count += 2
            else:
                message = await reader.readuntil(workload.terminator)
                count += 1 if workload.unit == "msg" else len(message) - len(workload.terminator)
    except asyncio.IncompleteReadError:
        return count


async def _streams(workload):
    reader = asyncio.StreamReader(limit=2 * workload.size + 1024)
    consumer = asyncio.ensure_future(_read_messages(reader, workload))
    for chunk in workload.chunks:
        reader.feed_data(chunk)
        await asyncio.sleep(0)  # let the reader take what arrived, as a transport would
    reader.feed_eof()
    return await consumer


def streams(workload):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_streams(workload))
    finally:
        loop.close()
