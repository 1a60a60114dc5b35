"""The invitation poster's QR and the two-step setup QR scale with the box they are shown in: the SVG has a
viewBox of its own size, so CSS width 100% (110 mm on the printed poster) enlarges the drawing, not only the
canvas."""
from __future__ import annotations

import re

from tests import builders as b
from volnet.core.qr import qr_svg
from volnet.extensions import db
from volnet.security import totp


def _size_and_viewbox(svg: str) -> tuple[tuple[str, str], str | None]:
    tag = re.match(r"<svg [^>]*>", svg).group(0)
    width, height = re.search(r'width="([\d.]+)"', tag).group(1), re.search(r'height="([\d.]+)"', tag).group(1)
    box = re.search(r'viewBox="([^"]+)"', tag)
    return (width, height), box.group(1) if box else None


def test_both_qr_codes_have_a_viewbox_matching_their_size():
    for svg in (qr_svg("https://volnet.example/account/join/abc", scale=6), totp.qr_svg("otpauth://totp/volnet:x?secret=A")):
        (width, height), box = _size_and_viewbox(svg)
        assert box == f"0 0 {width} {height}", svg[:200]
        assert svg.count("<svg") == 1 and "<path" in svg


def test_the_invitation_page_shows_the_scalable_qr(app, client):
    d = b.dong()
    org = b.organization("apartment_office", d)
    admin = b.user("admin")
    db.session.commit()
    b.login(client, admin)
    r = client.post("/admin/invitations", data={"role": "partner", "organization_id": org.id, "dong_ids": [d.id],
                                                "note": "", "max_uses": 5, "days": 14})
    page = r.get_data(as_text=True)
    svg = re.search(r'<div class="qr">(<svg .*?</svg>)</div>', page, re.S).group(1)
    assert _size_and_viewbox(svg)[1] is not None
