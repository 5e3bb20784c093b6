"""The coaching commands: ``next``, ``log`` and ``history``."""

from __future__ import annotations

import json

import click

from voicecoach.cli.context import current_env, describe_recommendation, echo
from voicecoach.errors import InputError
from voicecoach.plan.preset_files import DEFAULT_PRESET, load_preset

EARLIEST_YEAR = 1900


@click.command("next")
def next_cmd() -> None:
    """Today's session by the method, and why ('voicecoach play next' plays it)."""
    from voicecoach.training import coach as training
    env = current_env()
    with training.open_history(env.data_dir, env.now(), env.stderr) as history:
        recommendation = training.todays_recommendation(history, env.now())
    echo(describe_recommendation(recommendation))
    if recommendation.rest_today:
        echo("It can wait for tomorrow; 'voicecoach play next' plays it anyway.")


@click.command()
@click.argument("words", nargs=-1, metavar="[PRESET] REPS...")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day of the session (YYYY-MM-DD); default today.")


def log(words: tuple[str, ...], day) -> None:
    """Record the perfect reps of each set, e.g. 'voicecoach log leg-lifts 10 9 8'."""
    from voicecoach.training import coach as training
    env = current_env()
    if day is not None and day.year < EARLIEST_YEAR:    # dates that far back break time zones
        raise InputError(f"log: --date {day.date().isoformat()} is before "
                         f"{EARLIEST_YEAR}-01-01; give a day from then to today")
    spec = DEFAULT_PRESET
    if words and not words[0].lstrip("-").isdigit():
        spec, words = words[0], words[1:]
    preset = load_preset(spec, env.config_dir)
    numbers = training.log_numbers(preset, list(words))
    now = env.now()
    when = day.date() if day else training.local_day(now)
    with training.open_history(env.data_dir, now, env.stderr) as history:
        record, existing = training.log_workout(history, preset, numbers, when, now)
    what = "the session played" if existing else "a session"
    echo(f"Logged {what} on {when.isoformat()}: {preset.name}, perfect reps "
          f"{' '.join(map(str, numbers))} of {preset.reps_per_set}.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the log as JSON.")
def history(as_json: bool) -> None:
    """Your sessions so far, with a chart of perfect reps over time."""
    from voicecoach.cli import history_view
    from voicecoach.training import coach as training
    env = current_env()
    with training.open_history(env.data_dir, env.now(), env.stderr) as log_:
        records = log_.workouts()
    if as_json:
        echo(json.dumps(history_view.to_json(records), indent=2))
        return
    echo(history_view.format_table(records), nl=False)
    chart = history_view.format_chart(records)
    if chart:
        echo()
        echo(chart, nl=False)
