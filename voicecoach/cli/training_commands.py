"""The coaching commands: ``next``, ``log`` and ``history``."""

from __future__ import annotations

import json
from datetime import date

import click

from voicecoach.cli.context import advice_phrases, current_env, describe_recommendation, echo
from voicecoach.errors import InputError
from voicecoach.plan.preset_files import DEFAULT_PRESET


@click.command("next")
def next_cmd() -> None:
    """Today's session by the method, and why ('voicecoach play next' plays it)."""
    from voicecoach.training import coach as training

    env = current_env()
    with training.open_history(env.data_dir, env.now(), env.stderr, read_only=True) as history:
        recommendation = training.todays_recommendation(history, env.now(), advice_phrases())
    echo(describe_recommendation(recommendation))
    if recommendation.rest_today:
        echo(advice_phrases().text("advice_rest_anyway"))  # when to train again: the advice says


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, metavar="[PRESET|next] REPS...")
@click.option("--date", "day", default=None, metavar="YYYY-MM-DD", help="The day of the session; default today.")
@click.option(
    "--planned",
    type=int,
    default=None,
    metavar="N",
    help="The reps per set you planned; default the plan you followed.",
)
def log(words: tuple[str, ...], day: str | None, planned: int | None) -> None:
    """Record the perfect reps of each set, e.g. 'voicecoach log leg-lifts 10 9 8'.

    'voicecoach log next 11 11 11' logs today's recommended session.
    """
    from voicecoach.training import coach as training

    env = current_env()
    spec = DEFAULT_PRESET
    if words and not _looks_numeric(words[0]):
        spec, words = words[0], words[1:]
    numbers = training.log_numbers(list(words))
    now = env.now()
    try:
        when = date.fromisoformat(day) if day is not None else training.local_day(now)
    except ValueError:
        raise InputError(f"--date: expected a day as YYYY-MM-DD, got {day!r}") from None
    training.check_log_day(when, now)
    with training.open_history(env.data_dir, now, env.stderr) as history:
        record, existing = training.log_workout(history, spec, numbers, when, now, env.config_dir, planned)
    what = "the session played" if existing else "a session"
    above = sum(1 for s in record.done_sets if (s.perfect or 0) > s.planned)
    echo(
        f"Logged {what} on {when.isoformat()}: {record.preset}, perfect reps "
        f"{' '.join(map(str, numbers))} of {record.planned_reps} planned"
        + (f" ({above} {'set' if above == 1 else 'sets'} above the plan)." if above else ".")
    )


def _looks_numeric(word: str) -> bool:
    """A number of reps, even a wrong one ('-3', '1.5'), rather than a preset name."""
    return word.lstrip("-+").replace(".", "", 1).isdigit()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the log as JSON.")
def history(as_json: bool) -> None:
    """Your sessions so far, with a chart of perfect reps over time."""
    from voicecoach.cli import history_view
    from voicecoach.training import coach as training

    env = current_env()
    with training.open_history(env.data_dir, env.now(), env.stderr, read_only=True) as log_:
        records = log_.workouts()
    if as_json:
        echo(json.dumps(history_view.to_json(records), indent=2))
        return
    echo(history_view.format_table(records), nl=False)
    chart = history_view.format_chart(records)
    if chart:
        echo()
        echo(chart, nl=False)
