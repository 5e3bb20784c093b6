"""Speech fitting: the silence kept between phrases, variants that fall back,
anchored cues never late, and floating cues placed by priority."""

from voicecoach.plan.fitting import ANCHORED, ANNOUNCE, REMINDER, TIME_LEFT, Say, fit_speech

GAP = 10


def length(text):
    """Each phrase is as many frames as ten times its characters."""
    return 10 * len(text)


def say(texts, onsets, limit=10**9, priority=ANCHORED):
    return Say(tuple(texts), tuple(onsets) if not isinstance(onsets, int) else (onsets,),
               limit, priority, None, None)


def placed(events):
    return [(e.frame, e.text, e.frames) for e in events]


def test_anchored_cues_keep_the_gap_or_fall_back_to_a_shorter_variant():
    # "aaaa" at 0 ends at 40: the next anchored cue at 50 leaves room with a gap of 10
    spoken, dropped = fit_speech([say(["aaaa"], 0), say(["bb"], 50)], length, GAP)
    assert placed(spoken) == [(0, "aaaa", 40), (50, "bb", 20)] and not dropped
    # at 49 the gap would be 9 frames: the first cue falls back to its short variant
    spoken, dropped = fit_speech([say(["aaaa", "a"], 0), say(["bb"], 49)], length, GAP)
    assert placed(spoken) == [(0, "a", 10), (49, "bb", 20)] and not dropped
    # with no variant short enough it is dropped and reported, never moved later
    spoken, dropped = fit_speech([say(["aaaa", "aaa"], 0), say(["bb"], 30)], length, GAP)
    assert placed(spoken) == [(30, "bb", 20)]
    assert [(d.frame, d.text) for d in dropped] == [(0, "aaaa")]


def test_an_anchored_cue_respects_its_own_limit():
    spoken, dropped = fit_speech([say(["aaaa", "aa"], 0, limit=30)], length, GAP)
    assert placed(spoken) == [(0, "aa", 20)]
    spoken, dropped = fit_speech([say(["aaaa", "aa"], 0, limit=40)], length, GAP)
    assert placed(spoken) == [(0, "aaaa", 40)]
    spoken, dropped = fit_speech([say(["aaaa"], 0, limit=39)], length, GAP)
    assert not spoken and len(dropped) == 1


def test_a_floating_cue_takes_its_first_free_onset_keeping_the_gap_both_sides():
    anchored = [say(["aaaa"], 0), say(["aaaa"], 100)]          # busy [0, 50) and [100, 150)
    # 40 is taken, 50 is free (20 frames + gap 10 ends at 80, before 100)
    spoken, _ = fit_speech(anchored + [say(["xx"], (40, 50, 60), priority=TIME_LEFT)],
                           length, GAP)
    assert (50, "xx", 20) in placed(spoken)
    # a floating cue may not end closer than the gap to the next phrase: 70 + 20 + 10 > 100
    spoken, dropped = fit_speech(anchored + [say(["xx"], (71,), priority=TIME_LEFT)],
                                 length, GAP)
    assert (71, "xx", 20) not in placed(spoken) and len(dropped) == 1
    spoken, dropped = fit_speech(anchored + [say(["xx"], (70,), priority=TIME_LEFT)],
                                 length, GAP)
    assert (70, "xx", 20) in placed(spoken) and not dropped
    # nor start before the previous phrase's gap is over: 0 + 40 + 10 = 50
    spoken, dropped = fit_speech(anchored + [say(["xx"], (49,), priority=TIME_LEFT)],
                                 length, GAP)
    assert not [p for p in placed(spoken) if p[1] == "xx"] and len(dropped) == 1


def test_floating_cues_are_placed_by_priority_not_by_order():
    window = (0, 40)          # two onsets; each cue is 30 frames, so only one fits each
    reminder = say(["rrr"], window, priority=REMINDER)
    left = say(["ttt"], window, priority=TIME_LEFT)
    news = say(["nnn"], window, priority=ANNOUNCE)
    spoken, dropped = fit_speech([reminder, left, news], length, GAP)
    assert placed(spoken) == [(0, "nnn", 30), (40, "ttt", 30)]
    assert [d.text for d in dropped] == ["rrr"]


def test_anchored_cues_go_before_any_floating_one():
    floating = say(["ffff"], (0,), priority=ANNOUNCE)
    anchored = say(["aa"], 20)
    spoken, dropped = fit_speech([floating, anchored], length, GAP)
    assert placed(spoken) == [(20, "aa", 20)] and [d.text for d in dropped] == ["ffff"]
    # a floating cue that would come first by its onset waits for a later free one
    news = say(["ff"], (0, 60), priority=ANNOUNCE)
    spoken, dropped = fit_speech([news, anchored], length, GAP)
    assert placed(spoken) == [(20, "aa", 20), (60, "ff", 20)] and not dropped


def test_earlier_floating_cues_of_one_priority_choose_first():
    first = say(["xxx"], (0, 40), priority=REMINDER)
    second = say(["yyy"], (5, 40), priority=REMINDER)
    spoken, _ = fit_speech([second, first], length, GAP)
    assert placed(spoken) == [(0, "xxx", 30), (40, "yyy", 30)]
