"""A small SVG line-plot writer (stdlib only: matplotlib is not installed on
the lab machine), for the plots bench/scale.py draws into the repository."""

import html
import math

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
DASHES = ("", "6,3", "2,3", "8,3,2,3")


def _nice_ticks(lo, hi, count=5):
    """Round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 10))
    return ticks


def _fmt(v):
    return f"{v:g}" if abs(v) >= 0.01 or v == 0 else f"{v:.1e}"


def line_plot(path, title, xlabel, ylabel, series, xticks=None, note=""):
    """Writes an SVG with one polyline (and a marker per point) for each
    (label, [(x, y), ...]) of series; y starts at 0. note: a line of small
    text under the plot (e.g. the machine)."""
    w, h, left, right, top, bottom = 720, 440, 80, 220, 40, 70
    pw, ph = w - left - right, h - top - bottom
    xs = [x for _, pts in series for x, _ in pts] or [0, 1]
    ys = [y for _, pts in series for _, y in pts] or [1]
    xt = xticks or _nice_ticks(min(xs), max(xs))
    yt = _nice_ticks(0, max(ys) * 1.05 or 1)
    x0, x1, y1 = min(xt), max(xt), max(yt)

    def px(x):
        return left + (x - x0) / ((x1 - x0) or 1) * pw

    def py(y):
        return top + ph - y / (y1 or 1) * ph

    e = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{left + pw / 2}" y="22" text-anchor="middle" font-size="15">{e(title)}</text>']
    for t in yt:
        out.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + pw}" y2="{py(t):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in xt:
        out.append(f'<line x1="{px(t):.1f}" y1="{top + ph}" x2="{px(t):.1f}" y2="{top + ph + 5}" '
                   f'stroke="black"/>')
        out.append(f'<text x="{px(t):.1f}" y="{top + ph + 18}" text-anchor="middle">'
                   f'{_fmt(t)}</text>')
    out.append(f'<polyline points="{left},{top} {left},{top + ph} {left + pw},{top + ph}" '
               f'fill="none" stroke="black"/>')
    out.append(f'<text x="{left + pw / 2}" y="{top + ph + 38}" text-anchor="middle">'
               f'{e(xlabel)}</text>')
    out.append(f'<text transform="translate(18,{top + ph / 2}) rotate(-90)" '
               f'text-anchor="middle">{e(ylabel)}</text>')
    for i, (label, pts) in enumerate(series):
        c, d = COLOURS[i % len(COLOURS)], DASHES[(i // 2) % len(DASHES)]
        pts = sorted(pts)
        dash = f' stroke-dasharray="{d}"' if d else ""
        out.append(f'<polyline points="{" ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)}" '
                   f'fill="none" stroke="{c}" stroke-width="2"{dash}/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{c}">'
                       f'<title>{e(label)}: {_fmt(x)}, {_fmt(y)}</title></circle>')
        ly = top + 10 + i * 20
        out.append(f'<line x1="{left + pw + 15}" y1="{ly}" x2="{left + pw + 45}" y2="{ly}" '
                   f'stroke="{c}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{left + pw + 50}" y="{ly + 4}">{e(label)}</text>')
    if note:
        out.append(f'<text x="{left}" y="{h - 8}" font-size="10" fill="#555">{e(note)}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
