"""Pictures drawn on the server as inline SVG: no JavaScript library, nothing loaded from anywhere.

Each function takes plain numbers and returns an ``<svg>`` string sized by
its viewBox (it scales with the page).  Labels are escaped; numbers are
formatted here, so the output does not depend on any library's formatting.
"""

from __future__ import annotations

from html import escape

#: The palette the stylesheet also uses (series 1, 2, 3...).
COLORS = ("#2f6fde", "#e08a1e", "#2a9d5c", "#b4418e", "#6b5fd3", "#c0392b")


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value * 10:
        step /= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))


def _frame(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>"
    )


def _axis(x0: int, y0: int, w: int, h: int, top: float, unit: str = "") -> list[str]:
    out = []
    for i in range(5):
        y = y0 + h - h * i / 4
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{escape(unit)}{_num(top * i / 4)}</text>')
    return out


def _legend(x: int, y: int, names: list[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        cx = x + i * 150
        out.append(f'<rect x="{cx}" y="{y - 9}" width="12" height="12" rx="2" fill="{COLORS[i % len(COLORS)]}"/>')
        out.append(f'<text x="{cx + 17}" y="{y + 1}" class="legend">{escape(name)}</text>')
    return out


def bars(labels: list[str], series: dict[str, list[float]], *, title: str, unit: str = "", every: int = 1) -> str:
    """Grouped bars: one group per label, one bar per series; ``every``: label every n-th group."""
    width, height = 720, 240
    x0, y0, w, h = 48, 28, width - 60, height - 70
    names = list(series)
    top = _nice_max(max((v for s in series.values() for v in s), default=0))
    body = _axis(x0, y0, w, h, top, unit) + _legend(x0, 16, names)
    n = max(len(labels), 1)
    group = w / n
    bar = max(1.0, group * 0.8 / max(len(names), 1))
    for gi, label in enumerate(labels):
        gx = x0 + gi * group + group * 0.1
        for si, name in enumerate(names):
            value = series[name][gi]
            bh = h * value / top if top else 0
            tip = f"{label} {name}: {unit}{_num(value)}"
            body.append(
                f'<rect x="{gx + si * bar:.1f}" y="{y0 + h - bh:.1f}" width="{bar - 1:.1f}" height="{bh:.1f}" '
                f'fill="{COLORS[si % len(COLORS)]}"><title>{escape(tip)}</title></rect>'
            )
        if gi % every == 0:
            body.append(f'<text x="{gx + group * 0.4:.1f}" y="{y0 + h + 16}" class="tick" text-anchor="middle">{escape(label)}</text>')
    return _frame(width, height, title, body)


def steps(points: list[tuple[str, float, float]], *, title: str, times: list[float] | None = None) -> str:
    """A burndown: ``(time label, open, total)`` per change, drawn as step lines (total dashed).

    ``times`` (seconds, one per point) places each change at its moment, so a convoy that sat for a
    day and then closed in an hour looks like it; without them the changes are evenly spaced."""
    width, height = 720, 240
    x0, y0, w, h = 48, 28, width - 60, height - 70
    top = _nice_max(max((p[2] for p in points), default=0))
    body = _axis(x0, y0, w, h, top) + _legend(x0, 16, ["open", "tracked"])
    if not points:
        body.append(f'<text x="{x0 + w / 2}" y="{y0 + h / 2}" class="empty" text-anchor="middle">nothing tracked yet</text>')
        return _frame(width, height, title, body)
    n = len(points)

    span = (times[-1] - times[0]) if times and len(times) == n else 0.0

    def xy(i: int, v: float) -> tuple[float, float]:
        if span > 0:
            x = x0 + w * (times[i] - times[0]) / span
        else:
            x = x0 + (w * i / (n - 1) if n > 1 else w / 2)
        return x, y0 + h - h * v / top

    for idx, color, dash in ((2, COLORS[1], ' stroke-dasharray="5 4"'), (1, COLORS[0], "")):
        path = []
        for i, p in enumerate(points):
            x, y = xy(i, p[idx])
            if i == 0:
                path.append(f"M{x:.1f},{y:.1f}")
            else:
                path.append(f"H{x:.1f}V{y:.1f}")
        body.append(f'<path d="{" ".join(path)}" fill="none" stroke="{color}" stroke-width="2.5"{dash}/>')
    for i, p in enumerate(points):
        x, y = xy(i, p[1])
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{COLORS[0]}"><title>{escape(p[0])}: {_num(p[1])} open of {_num(p[2])}</title></circle>')
    first, last = points[0][0], points[-1][0]
    body.append(f'<text x="{x0}" y="{y0 + h + 16}" class="tick">{escape(first)}</text>')
    if n > 1:
        body.append(f'<text x="{x0 + w}" y="{y0 + h + 16}" class="tick" text-anchor="end">{escape(last)}</text>')
    return _frame(width, height, title, body)


def progress(closed: int, total: int) -> str:
    """A small progress bar (HTML, so it also reads as text without CSS)."""
    pct = 100 * closed // total if total else 0
    return (
        f'<span class="progress" title="{closed} of {total} done"><span class="bar" style="width:{pct}%"></span></span>'
        f' <span class="frac">{closed}/{total}</span>'
    )
