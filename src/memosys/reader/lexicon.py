"""Small English word lists shared by keyword and entity extraction."""

from __future__ import annotations

import calendar


def words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text`` as a set."""
    return frozenset(text.split())


STOPWORDS = words(
    """
    a about above after again against all almost also although always am among an and
    another any anybody anyone anything anyway anyways anywhere are aren't around as at
    away be became because become been before being below besides between both but by
    can can't cannot could couldn't did didn't do does doesn't doing don't done down
    during each either else enough even ever every everybody everyone everything
    everywhere few for from further get gets getting got gotten had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his
    how how's however i i'd i'll i'm i've if in into is isn't it it'd it'll it's its
    itself just least less let let's like likely made make makes making many may maybe
    me might mine more most much must mustn't my myself near neither never no nobody
    none nor not nothing now of off often oh ok okay on once one only onto or other
    others otherwise ought our ours ourselves out over own per perhaps please quite
    rather really said same say says see seem seemed seems seen shall shan't she she'd
    she'll she's should shouldn't since so some somebody someone something sometimes
    somewhat somewhere soon still such sure than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've thing
    things this those though through thus to too toward towards under until up upon us
    very via was wasn't way we we'd we'll we're we've well were weren't what what's
    whatever when when's where where's whether which while who who's whom whose why
    why's will with within without won't would wouldn't yeah yes yet you you'd you'll
    you're you've your yours yourself yourselves
    hey hi hello thanks thank thx wow lol haha hahaha omg awesome cool nice great good
    glad totally definitely absolutely actually honestly literally basically kinda gonna
    wanna gotta sounds sound looks look lot lots bit pretty super true wait right stuff
    today tonight yesterday tomorrow morning evening afternoon night week weekend month
    year day days weeks months years ago last next time times
    go goes going gone went come comes coming came know knows knew known think thinks
    thought want wants wanted need needs needed tell told take takes took taken give
    gave given find found keep kept put use used try tried start started feel felt mean
    meant call called seem help helped guess hope hoped
    btw idk tbh imo lmao omw brb k
    """
)

TIME_WORDS = frozenset(
    [*calendar.day_name, *calendar.day_abbr, *calendar.month_name[1:], *calendar.month_abbr[1:]]
) | words("Sept Tues Thurs Weds Today Tonight Yesterday Tomorrow")

# Capitalised words that start sentences in chat without naming anything.
SENTENCE_STARTERS = words(
    """
    Anyway Anyways Aw Aww Awesome Bye Cheers Congrats Congratulations Cool Dear Exactly
    Excellent Fantastic Fine Glad Good Great Guess Ha Haha Happy Hello Hey Hi Hmm Hope
    Indeed Interesting Lol Love Lovely Nice Nope Oh Ok Okay Omg Oops Please Really Right
    Sadly Seriously Sorry Sounds Speaking Sure Thank Thanks Totally True Ugh Um Well Whoa
    Wow Yay Yeah Yep Yes Absolutely Actually Also Amazing Basically Besides Btw Cute
    Definitely Finally First Hopefully However Luckily Maybe Meanwhile Next Perhaps
    Recently Still Then Unfortunately Wonderful Let Tell Check Keep Take Make Look Remember
    Feel Try Enjoy Welcome Woah Woohoo Yup Oof Yum Aha Ah Ooh Hooray Eh Phew Gosh Geez Yikes
    """
)
