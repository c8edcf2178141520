"""``pcids serve``: the design page and the HTTP API on one local server (FastAPI + uvicorn)."""

from __future__ import annotations

import typer


def command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; the default answers this machine only."),
    port: int = typer.Option(8000, "--port", "-p", help="TCP port."),
    max_concurrent: int = typer.Option(2, "--max-concurrent", help="Design searches running at once."),
    max_queue: int = typer.Option(4, "--max-queue", help="Searches waiting for a slot; more get 429."),
    time_limit: float = typer.Option(60.0, "--time-limit", help="Seconds a request may take before it gets 503."),
) -> None:
    """Serve the design page at http://HOST:PORT/ and the JSON API (POST /api/design, /api/predict,
    /api/gfa; schema at /openapi.json, docs at /docs). Writes no files; Ctrl-C stops it."""
    from pcids.errors import PcidsError

    try:
        import uvicorn

        from pcids.serve.app import create_app
        from pcids.serve.limits import Limits
    except ModuleNotFoundError as exc:
        raise PcidsError(f"pcids serve needs the 'serve' extra ({exc.name} is missing): pip install 'pcids[serve]'") from None
    if not 1 <= port <= 65535:
        raise PcidsError(f"--port must be between 1 and 65535, got {port}")
    if max_concurrent < 1 or max_queue < 0 or time_limit <= 0:
        raise PcidsError("--max-concurrent must be >= 1, --max-queue >= 0 and --time-limit > 0")
    _check_free(host, port)
    limits = Limits(max_concurrent=max_concurrent, max_queue=max_queue, time_limit_s=time_limit)
    typer.echo(f"pcids serve: http://{host}:{port}/  (API docs at /docs; Ctrl-C to stop)", err=True)
    uvicorn.run(create_app(limits), host=host, port=port, log_level="warning")


def _check_free(host: str, port: int) -> None:
    """A taken port or an unknown host gets one clear line (uvicorn would log and exit)."""
    import socket

    from pcids.errors import PcidsError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PcidsError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            raise PcidsError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
