"""The signals a person can report (DOMAIN.md), with their labels. Codes are stored; labels are shown."""
from volnet.core.i18n import lazy_gettext as _l

# The six warning signs of the neighbour-watch manuals come first.
WARNING_SIGNS = {
    "mail_piling": _l("Mail and bills piling up"),
    "smell_insects": _l("Smell or insects"),
    "rubbish_bottles": _l("Rubbish or empty bottles"),
    "tv_light_no_movement": _l("TV or light on with no movement"),
    "not_going_out": _l("Not going out"),
    "unreachable": _l("Unreachable"),
}
OTHER_SIGNS = {
    "dunning_notices": _l("Dunning or seizure notices"),
    "arrears": _l("Utility or management-fee arrears"),
    "utility_cutoff": _l("Power, water or gas cut off"),
    "laundry_untouched": _l("Laundry or shutters left untouched"),
    "meter_not_moving": _l("Meter not moving"),
    "poor_mobility": _l("Poor mobility"),
    "physical_distress": _l("Physical distress"),
    "mental_distress": _l("Mental distress"),
    "no_support": _l("No one to rely on"),
    "self_harm_talk": _l("Talk of self-harm"),
    "job_loss": _l("Job loss or business closure"),
    "housing_crisis": _l("Housing crisis"),
    "earner_loss": _l("Loss of the main earner"),
    "abuse_violence": _l("Abuse or violence"),
    "life_transition": _l("Life transition (birth, turning 65)"),
    "other": _l("Other"),
}
SIGNALS = {**WARNING_SIGNS, **OTHER_SIGNS}
SUMMARY_LENGTH = 300  # concerns.summary


def summary_codes(signals) -> str:
    """What a concern keeps of its first report's signs (``concerns.summary``): the signal codes, comma-separated,
    in no language, whole codes only within the column's length. Pages show them with :func:`summary_shown`."""
    out: list[str] = []
    size = -1
    for code in signals or ():
        if code in SIGNALS and code not in out:
            size += len(code) + 1
            if size > SUMMARY_LENGTH:
                break
            out.append(code)
    return ",".join(out)


def summary_shown(summary: str, names: dict[str, str]) -> str:
    """A concern's summary as its reader reads it: the labels of its signal codes (``names``: ``labels(SIGNALS)``,
    the request's language). A text that is not all codes (typed before the codes were kept, and not matched to
    them then) is shown as it is."""
    if not summary:
        return ""
    codes = summary.split(",")
    if all(code in names for code in codes):
        return ", ".join(names[code] for code in codes)
    return summary

# Signals that alone make a report at least urgent.
URGENT_SIGNALS = {"self_harm_talk", "abuse_violence", "utility_cutoff", "smell_insects"}

LEVELS = {"": _l("Not observed"), "good": _l("Good"), "poor": _l("Poor"), "severe": _l("Severe")}

URGENCIES = {
    "emergency": _l("Emergency"),
    "urgent": _l("Urgent"),
    "routine": _l("Routine"),
}
URGENCY_RANK = {"emergency": 0, "urgent": 1, "routine": 2}

SOURCES = {
    "observation": _l("Observation"),
    "citizen": _l("Citizen report"),
    "shift": _l("Volunteer shift"),
    "safety_call": _l("Safety call"),
    "crisis_list": _l("Public crisis list"),
    "staff": _l("Staff"),
}
