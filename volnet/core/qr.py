"""QR codes as inline SVG: the invitation poster and the two-step login setup."""
from __future__ import annotations

from io import BytesIO


def qr_svg(data: str, scale: int = 5) -> str:
    """``data`` as an SVG QR code of ``scale`` pixels per module. It has a viewBox (omitsize), so the drawing
    scales with the box it is shown or printed in; width and height give its natural size."""
    import segno

    qr = segno.make(data, error="m")
    out = BytesIO()
    qr.save(out, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True, title="QR", nl=False, omitsize=True)
    width, height = qr.symbol_size(scale=scale, border=2)
    return out.getvalue().decode("utf-8").replace("<svg ", f'<svg width="{width}" height="{height}" ', 1)
