"""Concern summaries keep the signal codes, not labels in the reporter's language

A concern's summary (the queue's "Signs" column) was written as its first report's sign labels in the language
of the person reporting: a partner with the UI in English left "Not going out" in every Korean queue, and the
English queue read "거동 불편". It now keeps the codes ("not_going_out,mail_piling"), and each page shows their
labels in its reader's language (volnet.observations.signals.summary_shown).

Here the labels already stored, Korean or English, become their codes again. A summary cut at the column's 300
characters keeps the labels that were whole, and the cut one when only one label starts that way. A summary that
is not made of labels is left as it is (and shown as it is). Downgrade writes the codes back as Korean labels.

Revision ID: eee468e676d7
Revises: 22dca06458d6
Create Date: 2026-12-05 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'eee468e676d7'
down_revision = '22dca06458d6'
branch_labels = None
depends_on = None

LENGTH = 300  # concerns.summary
BATCH = 2000
# The signals and their labels at this revision (a migration does not import the application). English msgids
# and the Korean catalogue's labels; neither has changed since the first release.
LABELS = {
    "mail_piling": ("Mail and bills piling up", "우편물·고지서 적체"),
    "smell_insects": ("Smell or insects", "악취·벌레"),
    "rubbish_bottles": ("Rubbish or empty bottles", "쓰레기·술병"),
    "tv_light_no_movement": ("TV or light on with no movement", "인기척 없이 TV·불이 켜져 있음"),
    "not_going_out": ("Not going out", "외출 없음"),
    "unreachable": ("Unreachable", "연결 안 됨"),
    "dunning_notices": ("Dunning or seizure notices", "독촉장·압류 우편물"),
    "arrears": ("Utility or management-fee arrears", "공과금·관리비 체납"),
    "utility_cutoff": ("Power, water or gas cut off", "단전·단수·단가스"),
    "laundry_untouched": ("Laundry or shutters left untouched", "빨래·셔터가 그대로 방치됨"),
    "meter_not_moving": ("Meter not moving", "계량기 변동 없음"),
    "poor_mobility": ("Poor mobility", "거동 불편"),
    "physical_distress": ("Physical distress", "신체적 어려움"),
    "mental_distress": ("Mental distress", "정신적 어려움"),
    "no_support": ("No one to rely on", "의지할 사람 없음"),
    "self_harm_talk": ("Talk of self-harm", "자살·자해 언급"),
    "job_loss": ("Job loss or business closure", "실직·폐업"),
    "housing_crisis": ("Housing crisis", "주거 위기"),
    "earner_loss": ("Loss of the main earner", "주소득자 상실"),
    "abuse_violence": ("Abuse or violence", "학대·폭력"),
    "life_transition": ("Life transition (birth, turning 65)", "생애 전환기 (출산, 만 65세 도래)"),
    "other": ("Other", "기타"),
}
CODE_OF = {label: code for code, labels in LABELS.items() for label in labels}
SEP = ", "


def codes_of(summary: str) -> str | None:
    """The codes of a summary written as labels (", " between them; some labels hold ", " themselves), or None
    when it is not made of labels. At each place the longest label first; the next place must be a separator or
    the end, and a dead end tries the next shorter label."""
    cut = len(summary) == LENGTH

    def parse(at: int) -> list[str] | None:
        if at == len(summary):
            return []
        for label in sorted((x for x in CODE_OF if summary.startswith(x, at)), key=len, reverse=True):
            end = at + len(label)
            if end == len(summary) or (cut and SEP.startswith(summary[end:])):
                return [CODE_OF[label]]
            if summary.startswith(SEP, end) and (rest := parse(end + len(SEP))) is not None:
                return [CODE_OF[label], *rest]
        if cut and at > 0:  # the last label was cut: kept when only one label starts so, else left out
            starting = {code for label, code in CODE_OF.items() if label.startswith(summary[at:])}
            return list(starting) if len(starting) == 1 else [] if starting else None
        return None

    codes = parse(0) if summary else None
    if not codes:
        return None
    out: list[str] = []
    for code in codes:
        if code not in out and len(",".join([*out, code])) <= LENGTH:
            out.append(code)
    return ",".join(out)


def labels_of(summary: str) -> str | None:
    """Downgrade: the Korean labels of a summary made of codes, or None when it is not."""
    codes = summary.split(",") if summary else []
    if not codes or not all(c in LABELS for c in codes):
        return None
    return SEP.join(LABELS[c][1] for c in codes)[:LENGTH]


def _rewrite(convert) -> None:
    conn = op.get_bind()
    concerns = sa.table("concerns", sa.column("id", sa.Integer), sa.column("summary", sa.String))
    update = concerns.update().where(concerns.c.id == sa.bindparam("b_id")).values(summary=sa.bindparam("b_summary"))
    seen: dict[str, str | None] = {}
    last = 0
    while True:
        batch = conn.execute(sa.select(concerns.c.id, concerns.c.summary)
                             .where(concerns.c.id > last, concerns.c.summary != "")
                             .order_by(concerns.c.id).limit(BATCH)).all()
        if not batch:
            return
        changes = []
        for cid, summary in batch:
            if summary not in seen:
                seen[summary] = convert(summary)
            new = seen[summary]
            if new is not None and new != summary:
                changes.append({"b_id": cid, "b_summary": new})
        if changes:
            conn.execute(update, changes)
        last = batch[-1][0]


def upgrade():
    _rewrite(codes_of)


def downgrade():
    _rewrite(labels_of)
