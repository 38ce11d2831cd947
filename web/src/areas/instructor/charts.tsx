/** Small charts as plain SVG and CSS. Every chart also states its figures in text, so nothing
 * is told by length or colour alone. */

export interface Point {
  label: string;
  value: number;
}

/** A column chart over days (or any ordered labels), with the largest value on its axis. The
 * bars stretch with the width; the labels are text beside them, so they keep their size. */
export function ColumnChart({ title, points }: { title: string; points: Point[] }) {
  const width = Math.max(1, points.length) * 10;
  const height = 100;
  const max = Math.max(1, ...points.map((point) => point.value));
  const total = points.reduce((sum, point) => sum + point.value, 0);
  return (
    <figure className="space-y-1">
      <figcaption className="text-sm font-medium">{title}</figcaption>
      <div className="flex gap-2">
        <div className="flex flex-col justify-between text-right text-xs text-slate-600" aria-hidden="true">
          <span>{max}</span>
          <span>0</span>
        </div>
        <svg
          viewBox={`0 0 ${width} ${height}`}
          preserveAspectRatio="none"
          className="h-40 w-full border-b border-l border-slate-400"
          role="img"
          aria-label={`${title}: ${total} in total, at most ${max} on one day`}
        >
          {points.map((point, index) => {
            const barHeight = (point.value / max) * height;
            return (
              <rect key={point.label} x={index * 10 + 1.5} y={height - barHeight} width={7} height={barHeight} fill="#4338ca">
                <title>{`${point.label}: ${point.value}`}</title>
              </rect>
            );
          })}
        </svg>
      </div>
      {points.length > 0 && (
        <div className="flex justify-between pl-4 text-xs text-slate-600" aria-hidden="true">
          <span>{points[0].label}</span>
          <span>{points[points.length - 1].label}</span>
        </div>
      )}
    </figure>
  );
}

/** Horizontal bars, each with its value written beside it. `max` is the full length. */
export function BarList({ title, rows, max, format }: { title: string; rows: { label: string; values: { name: string; value: number | null }[] }[]; max: number; format: (value: number) => string }) {
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
                  <div className={`h-3 rounded ${shades[index % shades.length]}`} style={{ width: `${max && item.value ? Math.min(100, (100 * item.value) / max) : 0}%` }} />
                </div>
                <span className="w-40 shrink-0">
                  {item.name}: {item.value === null ? "none yet" : format(item.value)}
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
