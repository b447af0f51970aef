"""Operations commands: ``doctor`` checks and repairs the state files; ``forget`` and
``export`` answer a person's requests about their data (:mod:`agent.privacy`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from agent.cli_common import CONTEXT, config_option, json_option, print_json


@click.command(context_settings=CONTEXT)
@config_option
@click.option("--repair", is_flag=True, help="Restore what can be restored (damaged files are "
              "kept beside the restored ones).")
@click.option("--rebuild-ledger", is_flag=True, help="Set the ledger aside and clear the sync "
              "cursors, so the next cycle counts every source afresh (once each): for a ledger "
              "written before schema 4 or 5, whose weeks lack the mail weights or the "
              "conversations a signal reads.")
@json_option
def doctor(config_path: Path, repair: bool, rebuild_ledger: bool, as_json: bool) -> None:
    """Check every state file (store, ledger, key, last good rules); exit 2 if any is damaged."""
    from agent.config import load_config
    from agent.doctor import check, describe
    from agent.doctor import rebuild_ledger as set_aside
    from agent.store import lock_store

    config = load_config(Path(config_path))
    moved = None
    with lock_store(config.store.path):  # never repair under a running daemon
        result = check(config, repair=repair)
        if rebuild_ledger and result.healthy:
            moved = set_aside(config)
    if rebuild_ledger and not as_json:
        if not result.healthy:
            click.echo("not rebuilding the ledger: the state has damage to see to first")
        elif moved is None:
            click.echo("there is no ledger to rebuild")
        else:
            click.echo(f"the ledger is now {moved}; the next cycle (`bridgework run --once`, or "
                       "the daemon) reads every source again and counts each interaction once. "
                       "Delete that directory once the new ledger is complete.")
    if as_json:
        print_json({"healthy": result.healthy, "checked": [str(p) for p in result.checked],
                    "findings": [{"path": str(f.path), "problem": f.problem, "repair": f.repair,
                                  "repaired": f.repaired} for f in result.findings],
                    "notes": result.notes,
                    **({"rebuilt_ledger": None if moved is None else str(moved)}
                       if rebuild_ledger else {})})
    else:
        for line in describe(result, repair):
            click.echo(line)
    if not result.healthy:
        sys.exit(2)


def _address(email: str) -> str:
    from connectors.common.errors import BridgeworkError

    address = email.strip().lower()
    if "@" not in address:
        raise BridgeworkError(f"{email!r} is not an e-mail address")
    return address


@click.command(context_settings=CONTEXT)
@click.argument("email")
@config_option
@json_option
def forget(email: str, config_path: str, as_json: bool) -> None:
    """Forget EMAIL: release their future holds and remove their records, digest records and
    ledger contact; from then on they are left out. Works while the daemon runs (it finishes
    at its next job). Exit 2 if a hold could not be released yet."""
    from agent import privacy
    from agent.config import load_config, secret_key
    from agent.engine import open_engine
    from agent.preflight import check_sources
    from agent.pseudonym import Pseudonymiser
    from agent.store import TinyStore, lock_store
    from connectors.common.errors import StoreLocked

    address = _address(email)
    config = load_config(Path(config_path))
    check_sources(config)  # before the store (and a key) is made for a source that is not there
    result: dict[str, object] = {"email": address}
    try:
        with lock_store(config.store.path):
            engine = open_engine(config)
            pseudonym = engine.pseudonymiser.person(address)
            privacy.mark_forgotten(engine.store, pseudonym, engine.clock())
            mine = [r for r in privacy.apply(engine, address) if r.pseudonym == pseudonym]
            if isinstance(engine.store, TinyStore):
                engine.store.checkpoint()  # the last good copy must not keep what was removed
    except StoreLocked:
        key = secret_key(config.secret, config.store.path)
        privacy.request(config.store.path, Pseudonymiser(key).person(address))
        result["state"] = "queued"
        _say(result, as_json, f"{address}: the daemon holds the store; it forgets them at the "
             "start of its next job (bridgework export shows when it is done)")
        return
    if not mine:  # marked and finished by an earlier forget
        result["state"] = "forgotten"
        _say(result, as_json, f"{address} was forgotten already")
        return
    done = mine[0]
    result.update(state="forgotten" if done.done else "waiting", released=done.released,
                  records=done.records, digests=done.digests, ledger_rows=done.ledger_rows,
                  waiting=done.waiting)
    _say(result, as_json, f"{address} forgotten: {done.released} hold(s) released, "
         f"{done.records} suggestion record(s), {done.digests} digest record(s) and "
         f"{done.ledger_rows} ledger row(s) removed"
         + (f"; {len(done.waiting)} hold(s) could not be released yet (the next job, or "
            "forget again, finishes)" if done.waiting else ""))
    if not done.done:
        sys.exit(2)


def _say(result: dict[str, object], as_json: bool, text: str) -> None:
    click.echo(json.dumps(result, indent=1, sort_keys=True) if as_json else text)


@click.command(context_settings=CONTEXT)
@click.argument("email")
@config_option
@click.option("--out", "out_path", type=click.Path(dir_okay=False),
              help="Write the JSON here (0600) instead of printing it.")
def export(email: str, config_path: str, out_path: str | None) -> None:
    """Everything held about EMAIL, as JSON: ledger totals per week, suggestions and holds,
    opt-out and forget state, digests sent, audit entries. Other people are only counted.
    Reads without the store lock, so it works while the daemon runs."""
    from agent import privacy
    from agent.config import load_config
    from connectors.common.fileio import write_private

    config = load_config(Path(config_path))
    text = json.dumps(privacy.export(config, _address(email)), indent=1, sort_keys=True)
    if out_path is None:
        click.echo(text)
        return
    write_private(Path(out_path), (text + "\n").encode())
    click.echo(f"wrote {out_path}")
