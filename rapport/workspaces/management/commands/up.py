import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from rapport.clients.models import Contact

# gunicorn's default access-log line, with the worker's pid at the end.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" pid=%(p)s'


def forwarded_allow_ips() -> list[str]:
    """gunicorn believes X-Forwarded-Proto only from the reverse proxy in
    front; Rapport reads X-Forwarded-For itself, from the same list
    (settings.TRUSTED_PROXIES)."""
    if not settings.TRUSTED_PROXIES:
        return []
    return ["--forwarded-allow-ips", ",".join(settings.TRUSTED_PROXIES)]


def web_server(address: str, workers: int = 2, *, access_log: bool = True, env=None, **popen):
    """The web server as `rapport up` runs it (and `rapport bench redirect`)."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "rapport.wsgi:application",
        "--bind",
        address,
        "--workers",
        str(workers),
        "--threads",
        "4",
        # No secret link in any log line (rapport.redaction); the access
        # log's pid tells which worker answered.
        "--logger-class",
        "rapport.redaction.GunicornLogger",
        *forwarded_allow_ips(),
        "--graceful-timeout",
        "10",
    ]
    if access_log:
        command += ["--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT]
    return subprocess.Popen(command, env=env, **popen)


def site_url(host: str, port: int) -> str:
    """The SITE_URL a local `rapport up` means when none is set: the address
    it listens on, with a wildcard host written as the loopback one."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def child_environment(host: str, port: int, environ=None) -> dict[str, str]:
    """The environment of the web server and the worker: SITE_URL follows
    --port unless the operator set it (the worker writes the emails, so it
    must agree with the web server on where links point)."""
    env = dict(os.environ if environ is None else environ)
    if not env.get("SITE_URL"):
        env["SITE_URL"] = site_url(host, port)
    env["PORT"] = str(port)
    return env


class Command(BaseCommand):
    help = (
        "Migrate, load the demo when the database is empty, then serve the web app and the worker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo", action="store_true", help="(re)build the demo workspaces first"
        )
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--workers", type=int, default=2, help="web worker processes")

    def handle(self, *args, **options):
        env = child_environment(options["host"], options["port"])
        # This process too: the demo it may load must write the same links.
        settings.SITE_URL = env["SITE_URL"].rstrip("/")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if options["demo"] or not Contact.objects.exists():
            self.stdout.write("Loading the demo workspaces…")
            call_command("demo")
        address = f"{options['host']}:{options['port']}"
        processes = [
            web_server(address, options["workers"], env=env),
            subprocess.Popen([sys.executable, "-m", "rapport.cli", "worker"], env=env),
        ]
        self.stdout.write(
            self.style.SUCCESS(f"Rapport is running at http://{address}/ (Ctrl+C to stop)")
        )

        def stop(*_):
            for process in processes:
                if process.poll() is None:
                    process.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(p.poll() is None for p in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
