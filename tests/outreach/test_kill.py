"""Sent once, never lost (DESIGN.md), under fire: a real `rapport worker`
sends 500 queued asks to a loopback SMTP server and is SIGKILLed at random
points more than fifty times — while starting, while idle, while claiming,
in the middle of an SMTP conversation, and right after the server's 250 —
and restarted each time.

Afterwards every message was received at least once and is recorded as
sent, and a message received twice is one whose worker was killed after the
server accepted it and before the record (the only loss of "once" that SMTP
allows). A claim left by a killed worker is taken up again once its lease
has run out, not before.
"""

import asyncio
import datetime as dt
import email
import email.policy
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.outreach.helpers import SMTPRecorder

pytestmark = pytest.mark.slow

MESSAGES = 500
KILLS = 50
LEASE = 2  # OUTBOX_LEASE_SECONDS
SWEEP = 1  # OUTBOX_SWEEP_SECONDS
DRAIN_SECONDS = 90
DATA_DELAY = (0.02, 0.1)  # the SMTP server's pause before it answers DATA
# The server runs in this test's event loop: on a busy machine (CI runs other
# suites beside this one) it may note its acceptance well after the client,
# already killed, sent the last byte. Seen: up to half a second.
SERVER_LAG = 1.0
RECORD_WITHIN = 2.0  # a worker records a message this soon after the 250, at the latest

SETUP = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from rapport.clients.actions import changing, create_contact
from rapport.outreach import actions, compose
from rapport.outreach.models import OutboundMessage
from rapport.workspaces.actions import create_workspace

count = int(sys.argv[1])
owner = get_user_model().objects.create_user(
    username="owner@example.com", email="owner@example.com", password="kill-test"
)
workspace = create_workspace(
    owner, "Loopback Dental", "UTC", postal_address="1 Loopback Lane", daily_email_limit=100000
)
with changing():
    for n in range(count):
        contact = create_contact(
            workspace, first_name=f"Client{n}", last_name="Test", external_id=f"K-{n}",
            email=f"client{n}@example.com", email_ok=True, stage="customer",
        )
        ask = actions.start_ask(contact, kind="referral", channel="email", script="Who else?")
        compose.ask_email(ask, subject=f"A small favour, Client{n}?", body="Who else?")
print(json.dumps({"queued": OutboundMessage.objects.filter(status="queued").count()}))
"""


def rapport_command() -> list[str]:
    script = Path(sys.executable).parent / "rapport"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rapport.cli"]


@dataclass
class Kill:
    before: float  # time.time() just before the SIGKILL
    after: float  # and just after
    how: str
    started: float  # when the killed worker was started


class Workers:
    """One `rapport worker` at a time; killed by the test's main loop or, at
    exact points of an SMTP conversation, from the server's thread."""

    def __init__(self, env, log):
        self.env, self.log = env, log
        self.lock = threading.Lock()
        self.proc = None
        self.started = 0.0
        self.killed = False
        self.armed = ""
        self.kills: list[Kill] = []

    def start(self):
        with self.lock:
            self.proc = subprocess.Popen(
                [*rapport_command(), "worker"],
                env=self.env,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.started, self.killed, self.armed = time.time(), False, ""

    def arm(self, how: str):
        with self.lock:
            self.armed = how

    def take(self, how: str) -> bool:
        with self.lock:
            if self.armed != how:
                return False
            self.armed = ""
            return True

    def kill(self, how: str) -> Kill | None:
        with self.lock:
            proc = self.proc
            if proc is None or self.killed or proc.poll() is not None:
                return None
            before = time.time()
            os.kill(proc.pid, signal.SIGKILL)
            kill = Kill(before, time.time(), how, self.started)
            self.killed, self.armed = True, ""
            self.kills.append(kill)
            return kill

    def wait(self, seconds: float) -> bool:
        """True when the worker ended within `seconds`."""
        try:
            self.proc.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def reap(self):
        code = self.proc.wait(timeout=30)
        assert code == -signal.SIGKILL, f"the worker exited by itself with {code}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def message_id_of(content: bytes) -> str:
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    return str(parsed.get("Message-ID", "")).strip()


def read_outbox(database: Path) -> dict[str, dict]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
        rows = db.execute(
            "SELECT message_id, status, attempts, sent_at FROM outreach_outboundmessage"
        ).fetchall()
    outbox = {}
    for message_id, status, attempts, sent_at in rows:
        when = None
        if sent_at:
            when = dt.datetime.fromisoformat(sent_at).replace(tzinfo=dt.UTC).timestamp()
        outbox[message_id] = {"status": status, "attempts": attempts, "sent_at": when}
    return outbox


def count_unsent(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
        return db.execute(
            "SELECT count(*) FROM outreach_outboundmessage WHERE status != 'sent'"
        ).fetchone()[0]


def kill_plan(rng: random.Random) -> list[str]:
    """When to kill each worker: the kills aimed at an SMTP moment come
    while there is still mail to send; the rest are at random times."""
    aimed = ["after 250"] * 12 + ["mid-SMTP"] * 10 + ["random"] * 8 + ["starting"] * 6
    rest = ["random"] * 7 + ["starting"] * 7
    rng.shuffle(aimed)
    rng.shuffle(rest)
    plan = aimed + rest
    assert len(plan) >= KILLS
    return plan


def test_a_worker_killed_fifty_times_loses_nothing_and_doubles_only_after_hand_over(tmp_path):
    seed = int(os.environ.get("RAPPORT_KILL_SEED") or time.time())
    rng = random.Random(seed)
    print(f"\nseed {seed} (RAPPORT_KILL_SEED={seed} repeats the plan)")
    begun = time.monotonic()
    database = tmp_path / "rapport.sqlite3"

    with SMTPRecorder() as smtp, open(tmp_path / "worker.log", "ab") as log:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "TASKS_BACKEND", "EMAIL_BACKEND")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="rapport.settings",
            RAPPORT_VAR_DIR=str(tmp_path),
            SECRET_KEY="kill-test-secret-key-" + "x" * 40,
            DEBUG="false",
            HTTPS="false",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            EMAIL_TIMEOUT="10",
            OUTBOX_LEASE_SECONDS=str(LEASE),
            OUTBOX_SWEEP_SECONDS=str(SWEEP),
            OUTBOX_MAX_ATTEMPTS="100",
        )
        run = {"env": env, "capture_output": True, "text": True, "timeout": 180}
        migrate = subprocess.run([*rapport_command(), "migrate", "--noinput"], **run)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        setup = subprocess.run([sys.executable, "-c", SETUP, str(MESSAGES)], **run)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        assert f'"queued": {MESSAGES}' in setup.stdout, setup.stdout
        print(f"set up {MESSAGES} queued messages in {time.monotonic() - begun:.1f}s")

        workers = Workers(env, log)
        dropped: list[tuple[str, Kill]] = []  # (Message-ID, kill) mid-conversation

        def before_accept(envelope) -> bool:
            # Killed while the server holds the message, before its 250.
            if not workers.take("mid-SMTP"):
                return False
            kill = workers.kill("mid-SMTP (aimed)")
            if kill is None:
                return False
            dropped.append((message_id_of(envelope.original_content or envelope.content), kill))
            return True

        def after_accept(received):
            # Killed a moment after the 250 went out: sometimes before the
            # worker recorded the message as sent, sometimes after.
            if workers.take("after 250"):
                asyncio.get_running_loop().call_later(
                    rng.uniform(0.0, 0.004), workers.kill, "after 250 (aimed)"
                )

        smtp.handler.hooks.before_accept = before_accept
        smtp.handler.hooks.after_accept = after_accept
        # A server that takes its time over each message, as real ones do
        # (queueing, scanning), so that kills land mid-conversation.
        smtp.handler.delay = lambda: rng.uniform(*DATA_DELAY)

        try:
            for how in kill_plan(rng)[:KILLS]:
                workers.start()
                if len(smtp.by_message_id()) >= MESSAGES and how in ("after 250", "mid-SMTP"):
                    how = "random"  # nothing left to aim at
                if how == "starting":
                    wait = rng.uniform(0.05, 1.2)
                elif how == "random":
                    wait = rng.uniform(1.2, 3.0)
                else:
                    workers.arm(how)
                    wait = 8.0
                if not workers.wait(wait):
                    workers.kill(how if how in ("starting", "random") else f"{how} (timed out)")
                workers.reap()
            print(f"{len(workers.kills)} kills in {time.monotonic() - begun:.1f}s")

            # Let the last worker finish the job.
            smtp.handler.delay = None
            workers.start()
            deadline = time.monotonic() + DRAIN_SECONDS
            while count_unsent(database) and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            workers.stop()
        print(f"all done in {time.monotonic() - begun:.1f}s")

    outbox = read_outbox(database)
    received = smtp.by_message_id()
    kills = workers.kills
    log_text = (tmp_path / "worker.log").read_text(errors="replace")
    assert len(kills) >= KILLS

    # Nothing lost: every message sent, and received at least once.
    assert len(outbox) == MESSAGES
    statuses = Counter(row["status"] for row in outbox.values())
    assert statuses == {"sent": MESSAGES}, f"{statuses}\n{log_text[-3000:]}"
    assert set(received) == set(outbox), "received and queued Message-IDs differ"

    # Recorded after the server accepted it (the last time, for a repeat).
    for message_id, copies in received.items():
        assert outbox[message_id]["sent_at"] >= copies[-1].accepted_at - 0.001, message_id

    # Doubled only where the worker that handed the message over was killed
    # before it could record it: after the last byte went to the server (the
    # server may take up to DATA_DELAY to say 250 — it has the message all
    # the same) and before the record.
    duplicates = {mid: copies for mid, copies in received.items() if len(copies) > 1}
    culprits: dict[int, str] = {}
    for message_id, copies in duplicates.items():
        first, row = copies[0].accepted_at, outbox[message_id]
        around = [
            kill
            for kill in kills
            if kill.started <= first and kill.after >= first - DATA_DELAY[1] - SERVER_LAG
        ]
        assert around, f"{message_id} was received {len(copies)} times; its sender was not killed"
        kill = around[0]
        assert kill.before <= first + RECORD_WITHIN, (
            f"{message_id}: its sender was killed {kill.before - first:.2f}s after the 250, "
            "long after it should have recorded the message as sent"
        )
        assert kill.before < copies[1].accepted_at and kill.before < row["sent_at"], message_id
        assert row["attempts"] >= len(copies), (message_id, row)
        culprits[id(kill)] = message_id

    # A claim left by a killed worker was taken up again, after its lease.
    reclaimed = [mid for mid, row in outbox.items() if row["attempts"] > 1]
    assert reclaimed, "no message was ever claimed twice: the kills hit nothing"
    for message_id, kill in dropped:
        assert outbox[message_id]["attempts"] >= 2, message_id
        again = received[message_id][0].accepted_at
        assert again - kill.before >= LEASE - 1.0, (
            f"{message_id} was taken over {again - kill.before:.2f}s after its worker died, "
            f"before its {LEASE}s lease ran out"
        )

    # Where the kills landed, as the SMTP server saw it.
    events = smtp.events
    where = Counter()
    for kill in kills:
        mine = [event for event in events if kill.started <= event[0] <= kill.before]
        if id(kill) in culprits:
            where["after hand-over, before the record (a duplicate)"] += 1
        elif not mine:
            where["starting or idle (no SMTP yet)"] += 1
        elif mine[-1][1] == "mail":
            where["mid-SMTP (transaction open)"] += 1
        else:
            where["between messages (record, claim, task queue)"] += 1
    print(
        f"messages {MESSAGES}, kills {len(kills)}, received {sum(map(len, received.values()))}, "
        f"duplicates {len(duplicates)}, reclaimed claims (attempts > 1) {len(reclaimed)}, "
        f"aimed mid-SMTP drops re-sent after the lease {len(dropped)}"
    )
    triggers = Counter(kill.how for kill in kills)
    print("kills by trigger: " + ", ".join(f"{k}: {v}" for k, v in sorted(triggers.items())))
    print("kills by moment:  " + ", ".join(f"{k}: {v}" for k, v in sorted(where.items())))
    assert where["mid-SMTP (transaction open)"] >= 1
    assert where["starting or idle (no SMTP yet)"] >= 1
    assert where["between messages (record, claim, task queue)"] >= 1
    # Twelve kills aimed just after a 250: at least one fell before the record.
    assert where["after hand-over, before the record (a duplicate)"] >= 1
    assert "Traceback" not in log_text, log_text[log_text.index("Traceback") :][:3000]
