/** Small charts as plain SVG and CSS. Every chart also states its figures in text, so nothing
 * is told by length or colour alone. */

export interface Point {
  label: string;
  value: number;
}

/** A column chart over days (or any ordered labels), with the largest value on its axis. */
export function ColumnChart({ title, points }: { title: string; points: Point[] }) {
  const width = 600;
  const height = 160;
  const max = Math.max(1, ...points.map((point) => point.value));
  const step = points.length ? width / points.length : width;
  const total = points.reduce((sum, point) => sum + point.value, 0);
  return (
    <figure className="space-y-1">
      <figcaption className="text-sm font-medium">{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height + 20}`} className="h-auto w-full" role="img" aria-label={`${title}: ${total} in total, at most ${max} on one day`}>
        <line x1={0} y1={height} x2={width} y2={height} stroke="#94a3b8" />
        <text x={4} y={12} fontSize={12} fill="#475569">
          {max}
        </text>
        {points.map((point, index) => {
          const barHeight = (point.value / max) * (height - 20);
          return (
            <rect key={point.label} x={index * step + step * 0.15} y={height - barHeight} width={Math.max(1, step * 0.7)} height={barHeight} fill="#4338ca">
              <title>{`${point.label}: ${point.value}`}</title>
            </rect>
          );
        })}
        {points.length > 0 && (
          <>
            <text x={0} y={height + 16} fontSize={12} fill="#475569">
              {points[0].label}
            </text>
            <text x={width} y={height + 16} fontSize={12} fill="#475569" textAnchor="end">
              {points[points.length - 1].label}
            </text>
          </>
        )}
      </svg>
    </figure>
  );
}

/** Horizontal bars, each with its value written beside it. `max` is the full length. */
export function BarList({ title, rows, max, format }: { title: string; rows: { label: string; values: { name: string; value: number }[] }[]; max: number; format: (value: number) => string }) {
  const shades = ["bg-indigo-700", "bg-teal-600"];
  return (
    <figure className="space-y-2">
      <figcaption className="text-sm font-medium">{title}</figcaption>
      <ul className="space-y-2">
        {rows.map((row) => (
          <li key={row.label}>
            <p className="text-sm">{row.label}</p>
            {row.values.map((item, index) => (
              <div key={item.name} className="flex items-center gap-2 text-xs">
                <div className="h-3 flex-1 rounded bg-slate-100" aria-hidden="true">
                  <div className={`h-3 rounded ${shades[index % shades.length]}`} style={{ width: `${max ? Math.min(100, (100 * item.value) / max) : 0}%` }} />
                </div>
                <span className="w-40 shrink-0">
                  {item.name}: {format(item.value)}
                </span>
              </div>
            ))}
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** A ring showing a share (0-1), with the percentage in its middle. */
export function Ring({ label, share }: { label: string; share: number }) {
  const radius = 36;
  const circumference = 2 * Math.PI * radius;
  const percent = Math.round(share * 100);
  return (
    <figure className="flex flex-col items-center">
      <svg viewBox="0 0 100 100" className="h-24 w-24" role="img" aria-label={`${label}: ${percent} %`}>
        <circle cx={50} cy={50} r={radius} fill="none" stroke="#e2e8f0" strokeWidth={12} />
        <circle cx={50} cy={50} r={radius} fill="none" stroke="#4338ca" strokeWidth={12} strokeDasharray={`${share * circumference} ${circumference}`} transform="rotate(-90 50 50)" />
        <text x={50} y={55} textAnchor="middle" fontSize={18} fontWeight="bold" fill="#0f172a">
          {percent} %
        </text>
      </svg>
      <figcaption className="text-sm">{label}</figcaption>
    </figure>
  );
}
