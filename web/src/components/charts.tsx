/** Small charts as plain SVG and CSS: no chart library in the bundle. Every chart also says
 * its values in text (a table or labels), never by colour or length alone. */

export interface Point {
  label: string;
  value: number;
}

/** Columns over time (e.g. enrollments per day), with the figures in a table for readers. */
export function ColumnChart({ title, points }: { title: string; points: Point[] }) {
  const max = Math.max(1, ...points.map((point) => point.value));
  const width = Math.max(points.length * 12, 120);
  return (
    <figure className="space-y-2">
      <figcaption className="font-medium">{title}</figcaption>
      {points.length === 0 ? (
        <p className="text-sm text-slate-600">No data in this period.</p>
      ) : (
        <>
          <svg role="img" aria-label={`${title}: ${points.length} values, at most ${max}`} viewBox={`0 0 ${width} 100`} preserveAspectRatio="none" className="h-32 w-full rounded bg-slate-50">
            {points.map((point, index) => {
              const height = (point.value / max) * 96;
              return (
                <rect key={point.label} x={index * 12 + 2} y={100 - height} width={8} height={height} className="fill-indigo-600">
                  <title>{`${point.label}: ${point.value}`}</title>
                </rect>
              );
            })}
          </svg>
          <details className="text-sm">
            <summary className="cursor-pointer">Show the figures</summary>
            <table className="mt-1">
              <tbody>
                {points.map((point) => (
                  <tr key={point.label}>
                    <th scope="row" className="pr-3 text-left font-normal">{point.label}</th>
                    <td>{point.value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </figure>
  );
}

/** Horizontal bars for a share (0-100 %), each labelled with its value. */
export function PercentBars({ title, points }: { title: string; points: Point[] }) {
  return (
    <figure className="space-y-2">
      <figcaption className="font-medium">{title}</figcaption>
      {points.length === 0 ? (
        <p className="text-sm text-slate-600">Nothing to show yet.</p>
      ) : (
        <ul className="space-y-1">
          {points.map((point) => {
            const value = Math.round(Math.min(100, Math.max(0, point.value)));
            return (
              <li key={point.label} className="text-sm">
                <div className="flex justify-between gap-2">
                  <span className="truncate">{point.label}</span>
                  <span>{value} %</span>
                </div>
                <div className="h-2 w-full overflow-hidden rounded bg-slate-200" aria-hidden="true">
                  <div className="h-full bg-indigo-600" style={{ width: `${value}%` }} />
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </figure>
  );
}

/** One headline figure. */
export function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="card">
      <p className="text-sm text-slate-600">{label}</p>
      <p className="text-2xl font-bold">{value}</p>
    </div>
  );
}
