"""Command-line tools: ``flask dialogs check`` and ``flask checklist``.

They are registered as ``flask.commands`` entry points (pyproject.toml), so they run without
building the app: the checker must be able to report on files the app would refuse to start with.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from .domain.checker import check_all
from .domain.dialogs import DialogFileError, UnknownRegion, load_dialog
from .domain.rules import evaluate_checklist
from .domain.vocabulary import FactError, validate_facts


@click.group("dialogs")
def dialogs_group() -> None:
    """The region files in dialogs/."""


@dialogs_group.command("check")
def check_command() -> None:
    """Validate every region file; print file:line: problem and exit 1 if any."""
    problems = check_all()
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    click.echo("dialogs: all region files are sound")


@dialogs_group.command("vectors")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def vectors_command(out: Path) -> None:
    """Write every region file's conditions with generated fact sets and our results (plain and three-valued)
    as JSON test vectors for another JsonLogic runtime (tests/jsonlogic/run_vectors.js reads them)."""
    from .domain.condition_vectors import export
    from .domain.vocabulary import load_vocabulary

    vocab = load_vocabulary()
    try:
        vectors = export([load_dialog(r) for r in vocab.regions], vocab)
    except DialogFileError as exc:
        _fail(f"region file is broken: {exc}")
    out.write_text(json.dumps(vectors, ensure_ascii=False), encoding="utf-8")
    click.echo(f"{len(vectors['vectors'])} vectors of {len(vectors['conditions'])} conditions written to {out}")


@click.command("checklist")
@click.option("--region", required=True, help="region id, e.g. hunan")
@click.option("--facts", "facts_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="a JSON file of facts")
def checklist_command(region: str, facts_path: Path) -> None:
    """Print the checklist for REGION and the facts in a JSON file (the shared contract's shape)."""
    try:
        facts = json.loads(facts_path.read_text(encoding="utf-8"))
        clean = validate_facts(facts)
        dialog = load_dialog(region)
    except FileNotFoundError:
        _fail(f"facts file not found: {facts_path}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        _fail(f"facts file is not valid JSON: {exc}")
    except FactError as exc:
        _fail(exc.message_en)
    except UnknownRegion:
        _fail(f"unknown region: {region}")
    except DialogFileError as exc:
        _fail(f"region file is broken: {exc}")
    click.echo(json.dumps(evaluate_checklist(dialog, clean), ensure_ascii=False, indent=2))


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


staff_group = AppGroup("staff", help="Staff accounts (these commands run inside the app).")


@staff_group.command("create")
@click.argument("username")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["department", "window", "supervisor"]), required=True)
@click.option("--region", required=True)
@click.option("--department", default=None)
@click.password_option()
def create_staff(username: str, name: str, role: str, region: str, department: str | None, password: str) -> None:
    """Create a staff account (the password is stored hashed)."""
    from .services import staff

    try:
        user = staff.create(username, password, name, role, region, department)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"created {user.username} ({user.role}, {user.region}, {user.department or '-'})")


def _staff_user(username: str):
    from .services import staff

    user = staff.by_username(username)
    if user is None:
        _fail(f"no staff account {username!r}")
    return user


@staff_group.command("password")
@click.argument("username")
@click.password_option()
def staff_password(username: str, password: str) -> None:
    """Set a new password; every session and token of the account ends."""
    from .services import staff

    try:
        staff.set_password(_staff_user(username), password)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"new password for {username}; signed out everywhere")


@staff_group.command("disable")
@click.argument("username")
def staff_disable(username: str) -> None:
    """Disable an account (someone left): it cannot sign in, and every session and token of it ends."""
    from .services import staff

    staff.disable(_staff_user(username))
    click.echo(f"disabled {username}; signed out everywhere")


@staff_group.command("totp")
@click.argument("username")
def staff_totp(username: str) -> None:
    """Enrol (or replace) the account's second factor: prints a QR code, the otpauth URI and the secret once, for
    the clerk's authenticator app (scanned, or typed in); stored encrypted, never shown or logged again."""
    import segno

    from .services import staff

    uri = staff.enrol_totp(_staff_user(username))
    secret = uri.split("secret=", 1)[1].split("&", 1)[0]
    click.echo(f"second factor for {username} (shown once; every session of the account ended):")
    segno.make(uri, error="m").terminal(out=sys.stdout, compact=True)
    click.echo(uri)
    click.echo(f"secret: {secret}")


notify_group = AppGroup("notify", help="Notification templates and the outbox.")


@notify_group.command("check")
def notify_check() -> None:
    """Render every template with the longest realistic values and check each channel's limits."""
    from .services.notify import check_templates

    problems = check_templates()
    for problem in problems:
        click.echo(problem)
    if problems:
        sys.exit(1)
    click.echo("notify: all templates fit their channels")


@notify_group.command("sweep")
def notify_sweep() -> None:
    """Queue notifications whose quiet hours or rate limit are over (run every few minutes)."""
    from .services import notify, webhooks

    click.echo(f"queued {notify.sweep()} notification(s) and {webhooks.sweep()} webhook(s)")


deadlines_group = AppGroup("deadlines", help="Due dates of work items in Chinese working days.")


@deadlines_group.command("recompute")
def deadlines_recompute() -> None:
    """Recompute the due dates of open work items from config/holidays.yaml and the calendar packages (run
    after entering a State Council holiday notice or upgrading them); prints each item that moved."""
    from .services import due_dates

    changes = due_dates.recompute()
    for c in changes:
        click.echo(f"{c.tracking_code} {c.matter_id}: {c.before.isoformat() if c.before else '-'} -> "
                   f"{c.after.isoformat() if c.after else '-'}{' (uncertain)' if c.uncertain else ''}")
    click.echo(f"deadlines: {len(changes)} open work item(s) changed")


retention_group = AppGroup("retention", help="Personal data kept no longer than needed (config/README.md).")


@retention_group.command("sweep")
@click.option("--dry-run", is_flag=True, help="print what would be deleted; delete nothing")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000),
              help="rows per transaction")
def retention_sweep(dry_run: bool, batch_size: int) -> None:
    """Delete unsubmitted questionnaires with their uploads, completed cases' photos and old notifications'
    recipients and contents past their retention (run daily from cron). Audit events are never deleted."""
    from .services import retention

    report = retention.sweep(dry_run=dry_run, batch=batch_size)
    for line in report.lines(dry_run):
        click.echo(f"retention: {line}")
    if dry_run and report.cases:
        click.echo("retention: cases whose photos would go: " + ", ".join(report.cases[:50])
                   + (" …" if len(report.cases) > 50 else ""))


keys_group = AppGroup("keys", help="The master keys of the personal data encrypted at rest (miniapp_api/keys.py).")


@keys_group.command("rotate")
@click.option("--no-new-key", is_flag=True,
              help="only re-wrap to the current key (after adding one to MASTER_KEYS and setting MASTER_KEY_ID)")
def keys_rotate(no_new_key: bool) -> None:
    """Make a new master key current (in KEYRING_FILE) and re-wrap every sealed value's data key under it;
    values in plaintext from before encryption are sealed. Old keys stay in the keyring, so nothing becomes
    unreadable; retire one once `flask keys status` shows it protects nothing."""
    from .services import key_rotation

    current, report = key_rotation.rotate(new_key=not no_new_key)
    for where, count in sorted(report.rewrapped.items()):
        click.echo(f"keys: {where}: {count} re-wrapped under {current}")
    click.echo(f"keys: current master key {current}; {sum(report.rewrapped.values())} value(s) re-wrapped")


@keys_group.command("status")
def keys_status() -> None:
    """How many sealed values each master key protects (and how many are still plaintext)."""
    from .services import key_rotation

    report = key_rotation.status()
    for key_id, count in sorted(report.keys.items()):
        click.echo(f"keys: {key_id}: {count} value(s)")


@keys_group.command("reindex")
def keys_reindex() -> None:
    """Rebuild every case's search keys from its form (after a new BLIND_INDEX_KEY, or when a kind of key was
    added: cases from before the phone's last four was one are found by it once this has run)."""
    from .services import key_rotation

    click.echo(f"keys: search keys rebuilt for {key_rotation.reindex()} case(s)")
