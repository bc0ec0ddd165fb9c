#!/usr/bin/env python3
"""The benchmark's streaming mock upstream: one asyncio process that holds
thousands of SSE answers at once (the integration tests' threaded mock
does not accept that many connections in time).

  python3 stream_mock.py PORT

Every request is answered 200 `text/event-stream`, chunked, with
`events` events `gap_ms` apart (query parameters, defaults 60 and 1000):

  data: {"n": 0, "t": 1764378123.456789}

`n` counts from 0 and `t` is the mock's wall clock when it wrote the event,
so that a client on the same machine can tell how late the event reached
it.  The first event goes out at once; the answer ends one gap after the
last.  Connections are kept alive (libcurl reuses them).  The mock prints
"ready PORT" once it listens and, on SIGTERM, "streams N" (answers begun)
before it exits.
"""

import asyncio
import json
import os
import resource
import signal
import sys
import time
import urllib.parse

HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n")
MAX_HEAD = 65536
STARTED = [0]


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def params(target):
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)

    def num(name, default):
        try:
            return max(0, min(int(q.get(name, [default])[0]), 100000))
        except ValueError:
            return default

    return num("events", 60), num("gap_ms", 1000) / 1000.0


async def read_head(reader):
    """Reads one request head (and discards its body); returns the target
    or None when the connection ended."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip() or "0")
    if length:
        await reader.readexactly(length)
    parts = lines[0].split(" ")
    return parts[1] if len(parts) >= 2 else "/"


async def serve(reader, writer):
    try:
        while True:
            target = await read_head(reader)
            if target is None:
                break
            STARTED[0] += 1
            events, gap = params(target)
            writer.write(HEAD)
            for n in range(events):
                if n:
                    await asyncio.sleep(gap)
                ev = json.dumps({"n": n, "t": time.time()})
                writer.write(chunk(b"data: %s\n\n" % ev.encode()))
                await writer.drain()
            await asyncio.sleep(gap)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main(port):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=4096,
                                        limit=MAX_HEAD)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready %d" % port, flush=True)
    await stop.wait()
    print("streams %d" % STARTED[0], flush=True)
    # Kept-alive connections still wait for a next request: leave without
    # cancelling each of them.
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
