"""Load on the HTTP API: `servecost serve` in a subprocess on a free loopback port, then 50
concurrent clients (httpx, asyncio) POST the headline plan (Kimi K2, defaults) for 30 s.
Prints requests/s, p50 / p99 latency and the errors (any answer but 200, or no answer).

The server keeps recent answers, so the same request again is a cache hit; --distinct makes every
request a new scenario (users 1,000,000 + i), each a full search.

Run: python benchmarks/web_load.py [--clients 50 --seconds 30 --distinct --workers 1]
"""

import argparse
import asyncio
import itertools
import socket
import statistics
import subprocess
import sys
import time

import httpx

BODY = {"model": "kimi-k2"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "servecost", "serve", "--port", str(port),
                               "--workers", str(workers)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/hardware", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start within 60 s")


async def client(http: httpx.AsyncClient, url: str, stop: float, bodies, latencies: list, errors: list) -> None:
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        try:
            r = await http.post(url, json=next(bodies))
            if r.status_code != 200:
                errors.append(r.status_code)
                continue
        except httpx.HTTPError as exc:
            errors.append(type(exc).__name__)
            continue
        latencies.append(time.perf_counter() - t0)


async def load(url: str, clients: int, seconds: float, distinct: bool) -> tuple[list, list, float]:
    latencies, errors = [], []
    bodies = (BODY | {"users": 1_000_000 + i} for i in itertools.count(1)) if distinct else itertools.repeat(BODY)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=120) as http:
        await http.post(url, json=BODY)   # warm the server's caches
        t0 = time.monotonic()
        await asyncio.gather(*(client(http, url, t0 + seconds, bodies, latencies, errors) for _ in range(clients)))
        return latencies, errors, time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--distinct", action="store_true", help="A new scenario per request (no cache hits).")
    parser.add_argument("--workers", type=int, default=1, help="Server processes.")
    args = parser.parse_args()
    port = free_port()
    server = start_server(port, args.workers)
    try:
        latencies, errors, wall = asyncio.run(load(f"http://127.0.0.1:{port}/api/plan", args.clients, args.seconds,
                                                   args.distinct))
    finally:
        server.terminate()
        server.wait(10)
    q = statistics.quantiles(latencies, n=100)
    what = "a new users count each" if args.distinct else "the same request"
    print(f"{args.clients} clients x {args.seconds:g} s, POST /api/plan (kimi-k2, defaults; {what}), "
          f"{args.workers} server process(es)")
    print(f"requests/s: {len(latencies) / wall:.1f}  ({len(latencies)} answered 200 in {wall:.1f} s)")
    print(f"latency: p50 {q[49] * 1e3:.0f} ms, p99 {q[98] * 1e3:.0f} ms")
    print(f"errors: {len(errors)}" + (f" ({', '.join(sorted(set(map(str, errors))))})" if errors else ""))


if __name__ == "__main__":
    main()
