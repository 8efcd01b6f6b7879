"""Render deploy/nginx.conf.template for N workers:

    python -m deploy.nginx_config --workers 4 --first-port 8100 --listen 127.0.0.1:8080 --var-dir var > var/nginx.conf
    python -m deploy.nginx_config --ports 8100,8107 ...      (any ports)

The static files' place and URL and the body size limit come from the Django settings
(DJANGO_SETTINGS_MODULE, else orderahead.settings.base), so nginx and the app agree on them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
MIME_TYPES = "/etc/nginx/mime.types"  # Debian's nginx


@dataclass(frozen=True)
class NginxConfig:
    ports: list[int]  # the workers', in order
    listen: str  # nginx's address, e.g. 127.0.0.1:8080
    var_dir: Path
    access_log: Path | None = None  # default: var_dir/log/access.log

    @classmethod
    def for_workers(cls, workers: int, first_port: int, **fields) -> NginxConfig:
        """Ports as honcho numbers web.1..web.N: first_port, first_port + 1, ..."""
        return cls(ports=[first_port + index for index in range(workers)], **fields)


def render(config: NginxConfig) -> str:
    from django.conf import settings
    from django.template import Context, Engine

    if not config.ports:
        raise ValueError("nginx needs at least one worker")
    var_dir = config.var_dir.resolve()
    # Text only: the template engine would localise numbers, which needs the apps loaded.
    context = {
        "ports": [str(port) for port in config.ports],
        "listen": config.listen,
        "var_dir": var_dir,
        "access_log": (config.access_log or var_dir / "log" / "access.log"),
        "static_root": Path(settings.STATIC_ROOT).resolve(),
        "static_url": "/" + settings.STATIC_URL.strip("/") + "/",
        "max_body_bytes": str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
        "mime_types": MIME_TYPES,
        # Started by root, nginx would run its workers as `nobody`, who may not read the checkout.
        "user": getpass.getuser() if os.geteuid() == 0 else "",
    }
    template = Engine(autoescape=False).from_string(TEMPLATE.read_text())
    return template.render(Context(context))


def prepare_var_dir(var_dir: Path) -> None:
    """The directories nginx writes to: its temp paths and the access log."""
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "log"):
        (var_dir / name).mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render deploy/nginx.conf.template for N Daphne workers.")
    parser.add_argument("--workers", type=int, help="how many workers (web.1..web.N, with --first-port)")
    parser.add_argument("--first-port", type=int, help="web.1's port; web.N's is this + N - 1")
    parser.add_argument("--ports", help="the workers' ports, comma-separated (instead of --workers/--first-port)")
    parser.add_argument("--listen", default="127.0.0.1:8080", help="nginx's address (default 127.0.0.1:8080)")
    parser.add_argument("--var-dir", type=Path, default=Path("var"),
                        help="pid file, temp files and access log (default var/)")
    args = parser.parse_args(argv)
    if args.ports:
        ports = [int(port) for port in args.ports.split(",")]
    elif args.workers and args.first_port:
        ports = NginxConfig.for_workers(args.workers, args.first_port, listen="", var_dir=Path()).ports
    else:
        parser.error("give --workers and --first-port, or --ports")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderahead.settings.base")
    prepare_var_dir(args.var_dir)
    sys.stdout.write(render(NginxConfig(ports=ports, listen=args.listen, var_dir=args.var_dir)))


if __name__ == "__main__":
    main()
