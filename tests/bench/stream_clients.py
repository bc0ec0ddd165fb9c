#!/usr/bin/env python3
"""The benchmark's stream clients: one asyncio process that opens N
HTTP/1.1 connections to the gateway, each reading one SSE answer of the
streaming mock (tests/bench/stream_mock.py) to its end.

  BENCH_STREAM_TOKEN=... python3 stream_clients.py PORT PATH STREAMS EVENTS RAMP_SECONDS

The streams are opened at an even pace over RAMP_SECONDS.  A stream is
complete when it got events 0 .. EVENTS-1, in order, and the chunked
answer's last chunk.  Prints "open N" once every stream has its first event
(or the ramp plus 30 s are over), then one JSON line with the results:
streams complete, events counted, how late they arrived (the mock's clock
in each event against ours, over all and per 5 s of wall clock), the CPU
time this process used, and the first failures.
"""

import asyncio
import json
import os
import resource
import sys
import time

MAX_LINE = 65536


class Stream:
    def __init__(self):
        self.events = 0
        self.in_order = True
        self.ended = False
        self.error = None
        self.first = asyncio.Event()


async def read_chunks(reader):
    """Yields the data of each chunk of a chunked body; returns at the last."""
    while True:
        line = await reader.readuntil(b"\r\n")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return
        data = await reader.readexactly(size + 2)
        yield data[:-2]


async def one(port, request, stream, delays):
    writer = None
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=MAX_LINE)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200" or b"chunked" not in head.lower():
            body = await asyncio.wait_for(reader.read(300), 5)
            raise RuntimeError("status %s: %r" % (status.decode(), body[:200]))
        buf = b""
        async for data in read_chunks(reader):
            buf += data
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                doc = json.loads(ev.split(b"data: ", 1)[1])
                now = time.time()
                delays.append((now, now - doc["t"]))
                if doc["n"] != stream.events:
                    stream.in_order = False
                stream.events += 1
                stream.first.set()
        stream.ended = True
    except Exception as e:  # noqa: BLE001 - counted and reported, never fatal
        stream.error = "%s: %s" % (type(e).__name__, e)
    finally:
        stream.first.set()
        if writer is not None:
            writer.close()


async def watch_loop(lags, halt):
    """Records how much later than asked this process's event loop wakes
    from a 100 ms sleep: when it lags, events wait here, not in the
    gateway."""
    while not halt.is_set():
        t = time.monotonic()
        await asyncio.sleep(0.1)
        lags.append((time.time(), time.monotonic() - t - 0.1))


def windows(delays, lags, width=5.0):
    """The events' delays per WIDTH seconds of arrival (wall clock):
    [start, events, p50 ms, p99 ms, max ms, this loop's largest lag ms]
    each, so that the delays while other load ran can be told from the
    others."""
    out, lag = {}, {}
    for at, d in delays:
        out.setdefault(int(at // width), []).append(1000 * d)
    for at, d in lags:
        lag[int(at // width)] = max(lag.get(int(at // width), 0.0), 1000 * d)
    rows = []
    for k in sorted(out):
        v = sorted(out[k])
        rows.append([k * width, len(v), round(v[len(v) // 2], 1),
                     round(v[int(len(v) * 0.99)], 1), round(v[-1], 1),
                     round(lag.get(k, 0.0), 1)])
    return rows


async def main(port, path, token, count, events, ramp):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
               "Accept: text/event-stream\r\n\r\n" % (path, port, token)).encode()
    streams = [Stream() for _ in range(count)]
    delays, lags, halt = [], [], asyncio.Event()
    watch = asyncio.ensure_future(watch_loop(lags, halt))
    tasks = []
    t0 = time.monotonic()
    for i, s in enumerate(streams):
        await asyncio.sleep(max(0.0, t0 + ramp * i / count - time.monotonic()))
        tasks.append(asyncio.ensure_future(one(port, request, s, delays)))
    try:
        await asyncio.wait_for(asyncio.gather(*(s.first.wait() for s in streams)), 30)
    except asyncio.TimeoutError:
        pass
    print("open %d %.1f" % (sum(1 for s in streams if s.events > 0), time.monotonic() - t0),
          flush=True)
    await asyncio.gather(*tasks)
    halt.set()
    await watch
    errors = sorted(set(s.error for s in streams if s.error))
    ms = sorted(1000 * d for _, d in delays)
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "streams": count,
        "events_each": events,
        "complete": sum(1 for s in streams if s.ended and s.in_order and s.events == events),
        "events": sum(s.events for s in streams),
        "failed": sum(1 for s in streams if s.error),
        "errors": errors[:5],
        "delay_p50_ms": ms[len(ms) // 2] if ms else None,
        "delay_p99_ms": ms[int(len(ms) * 0.99)] if ms else None,
        "delay_max_ms": ms[-1] if ms else None,
        "delay_windows": windows(delays, lags),
        "seconds": round(time.monotonic() - t0, 1),
        "cpu_seconds": round(use.ru_utime + use.ru_stime, 1),
    }), flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(int(a[0]), a[1], os.environ["BENCH_STREAM_TOKEN"], int(a[2]), int(a[3]),
                     float(a[4])))
